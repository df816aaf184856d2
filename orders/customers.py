"""Customer master data: tax ids checked per country (python-stdnum), duplicates found before
a customer is created, and the writes of customers with their addresses and contacts."""

from django.db import transaction
from django.utils import timezone
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.util import clean

from o2c.core import numbering, timeline

from .models import Customer

COUNTRY_NAMES = {
    "AT": "Austrian", "BE": "Belgian", "BG": "Bulgarian", "CY": "Cypriot", "CZ": "Czech", "DE": "German",
    "DK": "Danish", "EE": "Estonian", "ES": "Spanish", "FI": "Finnish", "FR": "French", "GR": "Greek",
    "HR": "Croatian", "HU": "Hungarian", "IE": "Irish", "IT": "Italian", "LT": "Lithuanian", "LU": "Luxembourg",
    "LV": "Latvian", "MT": "Maltese", "NL": "Dutch", "PL": "Polish", "PT": "Portuguese", "RO": "Romanian",
    "SE": "Swedish", "SI": "Slovenian", "SK": "Slovak", "GB": "UK", "CH": "Swiss", "NO": "Norwegian",
}  # fmt: skip
EU_PREFIX = {"GR": "EL"}
WHY = {
    InvalidChecksum: "the check digits do not match (a typing error?)",
    InvalidLength: "it has the wrong number of characters",
    InvalidFormat: "it has characters that do not belong in one",
    InvalidComponent: "a part of it is not valid",
}


def validate_tax_id(tax_id: str, country: str) -> tuple[str, str]:
    """(the tax id in its compact form, "") or (tax_id, a reason a clerk can act on).

    EU countries: the VAT number with its country prefix (added when typed without it);
    others with a python-stdnum VAT module (GB, CH, NO...) are checked by it; other countries
    are kept as typed. Empty is allowed (private customers, some export customers)."""
    tax_id, country = tax_id.strip(), country.strip().upper()
    if not tax_id:
        return "", ""
    label = f"{COUNTRY_NAMES.get(country, country)} VAT number"
    if country.lower() in eu_vat.MEMBER_STATES:
        prefix = EU_PREFIX.get(country, country)
        number = clean(tax_id, " -./,").upper().strip()
        if not number[:2].isalpha():
            number = prefix + number
        if number[:2] != prefix:
            return tax_id, f"'{tax_id}' starts with {number[:2]}; a {label} starts with {prefix}"
        try:
            return eu_vat.validate(number), ""
        except ValidationError as error:
            return tax_id, f"'{tax_id}' is not a valid {label}: {WHY.get(type(error), error.message)}"
    module = get_cc_module(country.lower(), "vat") if len(country) == 2 and country.isalpha() else None
    if module is None:
        return tax_id, ""
    try:
        return module.validate(tax_id), ""
    except ValidationError as error:
        return tax_id, f"'{tax_id}' is not a valid {label}: {WHY.get(type(error), error.message)}"


def save_customer(*, customer: Customer, addresses=None, contacts=None, by) -> Customer:
    """Save a customer checked by CustomerForm with its address and contact formsets, in one
    transaction, and note it on the customer's timeline."""
    created = customer.pk is None
    with transaction.atomic():
        if not customer.account_number:
            customer.account_number = numbering.next_number(prefix="CUST", year=timezone.localdate().year)
        customer.save()
        for formset in (addresses, contacts):
            if formset is not None:
                formset.instance = customer
                formset.save()
        timeline.record(
            customer,
            "created" if created else "changed",
            summary=f"Customer {customer.account_number} {'created' if created else 'changed'}",
            trail=f"customer:{customer.pk}",
            by=by,
        )
    return customer
