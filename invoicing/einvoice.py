"""E-invoices: UBL 2.1 in the Peppol BIS Billing 3.0 profile (invoice and credit note) and
UN/CEFACT CII D16B in the Factur-X EN 16931 profile, built with lxml from an issued document.

Pure functions of the stored invoice: no clock, no random ids, attributes and elements in a
fixed order, so re-rendering an unchanged invoice gives byte-identical XML (the stored hash
proves it). Validated in tests/invoicing/test_einvoices.py with tests/standards/validate_einvoice.py.
"""

from decimal import Decimal

from lxml import etree

from o2c.core.money import minor_units

from .models import Invoice

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
FACTURX_EN16931 = "urn:cen.eu:en16931:2017"

# UN/ECE Recommendation 20 unit codes for our units of measure.
UNIT_CODES = {"pc": "H87", "pcs": "H87", "ea": "H87", "kg": "KGM", "g": "GRM", "l": "LTR", "m": "MTR", "h": "HUR"}
UNIT_CODES |= {"hour": "HUR", "day": "DAY", "box": "XBX", "set": "SET", "m2": "MTK", "pack": "XPK"}

# Peppol electronic address schemes for a VAT number, when the customer has no endpoint set.
VAT_SCHEMES = {
    "BE": "9925",
    "DE": "9930",
    "FR": "9957",
    "NL": "9944",
    "LU": "9938",
    "AT": "9914",
    "ES": "9920",
    "IT": "0211",
    "IE": "9935",
    "PL": "9945",
    "PT": "9946",
}


class EInvoiceError(ValueError):
    """The document lacks data an e-invoice must carry (said in words a clerk can act on)."""


def amount(value: Decimal, currency: str = "EUR") -> str:
    return f"{value:.{minor_units(currency)}f}"


def percent(rate: Decimal) -> str:
    return f"{rate * 100:.2f}"


def quantity(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_code(unit: str) -> str:
    return UNIT_CODES.get(unit.lower(), "C62")


def endpoint(party: dict) -> tuple[str, str]:
    """(scheme, id) of a party's Peppol address: its own, else derived from its VAT id."""
    if party.get("endpoint_scheme") and party.get("endpoint_id"):
        return party["endpoint_scheme"], party["endpoint_id"]
    vat_id = (party.get("vat_id") or "").replace(" ", "").upper()
    scheme = VAT_SCHEMES.get(vat_id[:2])
    if scheme:
        return scheme, vat_id
    raise EInvoiceError(
        f"{party.get('name', 'The buyer')} has no e-invoice endpoint: set its scheme and id on the billing profile."
    )


def _check(invoice: Invoice) -> bool:
    """Refuse what EN 16931 cannot carry; True when the document is wholly outside the scope
    of VAT (category O), which must then show no VAT identifiers at all (BR-O-02)."""
    if invoice.number is None:
        raise EInvoiceError(f"{invoice} is a draft; only issued documents have an e-invoice.")
    categories = {row.category for row in invoice.tax_lines.all()}
    if "O" in categories and len(categories) > 1:
        raise EInvoiceError(
            f"{invoice} mixes 'not subject to VAT' (O) lines with other VAT categories, which EN 16931 "
            "does not allow (BR-O-11): bill the out-of-scope items on an invoice of their own."
        )
    out_of_scope = categories == {"O"}
    if not out_of_scope and not invoice.seller.get("vat_id"):
        raise EInvoiceError("The seller has no VAT id: set it on the company (admin).")
    return out_of_scope


def _without_vat_ids(party: dict) -> dict:
    """The party with its VAT id left out, keeping the Peppol address it gives."""
    try:
        scheme, endpoint_id = endpoint(party)
    except EInvoiceError:
        scheme = endpoint_id = ""
    return {**party, "vat_id": "", "endpoint_scheme": scheme, "endpoint_id": endpoint_id}


class _Builder:
    """Appends namespaced children in the order given (UBL and CII are sequence schemas)."""

    def __init__(self, nsmap: dict):
        self.nsmap = nsmap

    def el(self, parent, tag: str, text=None, **attributes):
        prefix, name = tag.split(":")
        node = etree.SubElement(parent, f"{{{self.nsmap[prefix]}}}{name}")
        for key, value in attributes.items():
            node.set(key, value)
        if text is not None:
            node.text = str(text)
        return node


# UBL 2.1 / Peppol BIS Billing 3.0 ------------------------------------------------------------------
def ubl(invoice: Invoice) -> bytes:
    """The Peppol BIS Billing 3.0 UBL Invoice (380) or CreditNote (381) of an issued document."""
    out_of_scope = _check(invoice)
    seller, buyer = invoice.seller, invoice.buyer
    if out_of_scope:
        seller, buyer = _without_vat_ids(seller), _without_vat_ids(buyer)
    note = invoice.is_credit_note
    currency = invoice.currency
    lines = list(invoice.lines.all())
    tax_lines = list(invoice.tax_lines.all())
    root_ns = UBL_CREDIT_NOTE if note else UBL_INVOICE
    b = _Builder({"cac": CAC, "cbc": CBC})
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if note else 'Invoice'}", nsmap={None: root_ns, "cac": CAC, "cbc": CBC}
    )
    b.el(root, "cbc:CustomizationID", PEPPOL_CUSTOMIZATION)
    b.el(root, "cbc:ProfileID", PEPPOL_PROFILE)
    b.el(root, "cbc:ID", invoice.number)
    b.el(root, "cbc:IssueDate", invoice.issue_date.isoformat())
    if note:
        b.el(root, "cbc:CreditNoteTypeCode", "381")
        b.el(root, "cbc:Note", f"Reason: {invoice.reason}" if invoice.reason else None)
    else:
        b.el(root, "cbc:DueDate", invoice.due_date.isoformat())
        b.el(root, "cbc:InvoiceTypeCode", "380")
    b.el(root, "cbc:DocumentCurrencyCode", currency)
    b.el(root, "cbc:BuyerReference", invoice.customer_po or invoice.buyer.get("account_number") or invoice.number)
    if invoice.period_start and invoice.period_end:
        period = b.el(root, "cac:InvoicePeriod")
        b.el(period, "cbc:StartDate", invoice.period_start.isoformat())
        b.el(period, "cbc:EndDate", invoice.period_end.isoformat())
    order_number = invoice.order.number if invoice.order_id else ""
    if invoice.customer_po or order_number:
        reference = b.el(root, "cac:OrderReference")
        b.el(reference, "cbc:ID", (invoice.customer_po or order_number)[:50])
        if invoice.customer_po and order_number:
            b.el(reference, "cbc:SalesOrderID", order_number)
    if note:
        credited = invoice.credited_invoice
        billing = b.el(b.el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.el(billing, "cbc:ID", credited.number)
        b.el(billing, "cbc:IssueDate", credited.issue_date.isoformat())
    if invoice.shipment_id:
        b.el(b.el(root, "cac:DespatchDocumentReference"), "cbc:ID", invoice.shipment.number)
    _ubl_party(b, b.el(root, "cac:AccountingSupplierParty"), seller, seller=True)
    _ubl_party(b, b.el(root, "cac:AccountingCustomerParty"), buyer, seller=False)
    delivery = b.el(root, "cac:Delivery")
    b.el(delivery, "cbc:ActualDeliveryDate", (invoice.supply_date or invoice.issue_date).isoformat())
    address = b.el(b.el(delivery, "cac:DeliveryLocation"), "cac:Address")
    b.el(address, "cbc:CityName", invoice.buyer.get("city") or None)
    b.el(address, "cbc:PostalZone", invoice.buyer.get("postal_code") or None)
    b.el(b.el(address, "cac:Country"), "cbc:IdentificationCode", invoice.buyer.get("country", "BE"))
    if not note:
        means = b.el(root, "cac:PaymentMeans")
        b.el(means, "cbc:PaymentMeansCode", "58", name="SEPA credit transfer")
        b.el(means, "cbc:PaymentID", invoice.rf_reference)
        account = b.el(means, "cac:PayeeFinancialAccount")
        b.el(account, "cbc:ID", invoice.seller.get("iban"))
        b.el(account, "cbc:Name", invoice.seller.get("name"))
        if invoice.seller.get("bic"):
            b.el(b.el(account, "cac:FinancialInstitutionBranch"), "cbc:ID", invoice.seller["bic"])
    b.el(b.el(root, "cac:PaymentTerms"), "cbc:Note", payment_terms_text(invoice))
    tax_total = b.el(root, "cac:TaxTotal")
    b.el(tax_total, "cbc:TaxAmount", amount(invoice.tax_amount, currency), currencyID=currency)
    for row in tax_lines:
        subtotal = b.el(tax_total, "cac:TaxSubtotal")
        b.el(subtotal, "cbc:TaxableAmount", amount(row.taxable_amount, currency), currencyID=currency)
        b.el(subtotal, "cbc:TaxAmount", amount(row.tax_amount, currency), currencyID=currency)
        category = b.el(subtotal, "cac:TaxCategory")
        b.el(category, "cbc:ID", row.category)
        if row.category != "O":
            b.el(category, "cbc:Percent", percent(row.rate))
        if row.exemption_code:
            b.el(category, "cbc:TaxExemptionReasonCode", row.exemption_code)
        if row.exemption_reason:
            b.el(category, "cbc:TaxExemptionReason", row.exemption_reason)
        b.el(b.el(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    totals = b.el(root, "cac:LegalMonetaryTotal")
    b.el(totals, "cbc:LineExtensionAmount", amount(invoice.net_amount, currency), currencyID=currency)
    b.el(totals, "cbc:TaxExclusiveAmount", amount(invoice.net_amount, currency), currencyID=currency)
    b.el(totals, "cbc:TaxInclusiveAmount", amount(invoice.total, currency), currencyID=currency)
    b.el(totals, "cbc:PayableAmount", amount(invoice.total, currency), currencyID=currency)
    for line in lines:
        node = b.el(root, "cac:CreditNoteLine" if note else "cac:InvoiceLine")
        b.el(node, "cbc:ID", str(line.line_number))
        if line.delivery_reference and not invoice.shipment_id:
            b.el(node, "cbc:Note", f"Delivery {line.delivery_reference}")
        b.el(
            node,
            "cbc:CreditedQuantity" if note else "cbc:InvoicedQuantity",
            quantity(line.quantity),
            unitCode=unit_code(line.unit),
        )
        b.el(node, "cbc:LineExtensionAmount", amount(line.net_amount, currency), currencyID=currency)
        item = b.el(node, "cac:Item")
        sku, _, name = line.description.partition(" ")
        b.el(item, "cbc:Name", (name or sku)[:100])
        if name:
            b.el(b.el(item, "cac:SellersItemIdentification"), "cbc:ID", sku)
        category = b.el(item, "cac:ClassifiedTaxCategory")
        b.el(category, "cbc:ID", line.tax_category)
        if line.tax_category != "O":
            b.el(category, "cbc:Percent", percent(line.tax_rate if line.tax_category == "S" else Decimal("0")))
        b.el(b.el(category, "cac:TaxScheme"), "cbc:ID", "VAT")
        b.el(b.el(node, "cac:Price"), "cbc:PriceAmount", f"{line.unit_price:f}", currencyID=currency)
    _drop_empty(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _ubl_party(b: _Builder, wrapper, party: dict, *, seller: bool) -> None:
    node = b.el(wrapper, "cac:Party")
    scheme, endpoint_id = endpoint(party)
    b.el(node, "cbc:EndpointID", endpoint_id, schemeID=scheme)
    if not seller and party.get("account_number"):
        b.el(b.el(node, "cac:PartyIdentification"), "cbc:ID", party["account_number"])
    b.el(b.el(node, "cac:PartyName"), "cbc:Name", party.get("name"))
    address = b.el(node, "cac:PostalAddress")
    b.el(address, "cbc:StreetName", party.get("address_line") or None)
    b.el(address, "cbc:CityName", party.get("city") or None)
    b.el(address, "cbc:PostalZone", party.get("postal_code") or None)
    b.el(b.el(address, "cac:Country"), "cbc:IdentificationCode", party.get("country") or "BE")
    if party.get("vat_id"):
        tax_scheme = b.el(node, "cac:PartyTaxScheme")
        b.el(tax_scheme, "cbc:CompanyID", party["vat_id"])
        b.el(b.el(tax_scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = b.el(node, "cac:PartyLegalEntity")
    b.el(legal, "cbc:RegistrationName", party.get("name"))
    if seller and party.get("registration_id"):
        b.el(legal, "cbc:CompanyID", party["registration_id"])
    if seller and party.get("legal_info"):
        b.el(legal, "cbc:CompanyLegalForm", party["legal_info"])
    if party.get("email"):
        b.el(b.el(node, "cac:Contact"), "cbc:ElectronicMail", party["email"])


def _drop_empty(root) -> None:
    """Peppol refuses empty elements (PEPPOL-EN16931-R008): remove the ones with no data."""
    for node in reversed(list(root.iter())):
        if not len(node) and not (node.text or "").strip() and node is not root:
            node.getparent().remove(node)


def payment_terms_text(invoice: Invoice) -> str:
    """The terms in words, as printed: due date or instalments, and the early-payment discount."""
    if invoice.is_credit_note:
        return f"Credits invoice {invoice.credited_invoice.number}; nothing to pay."
    parts = [invoice.payment_terms]
    instalments = list(invoice.instalments.all())
    if instalments:
        parts.append(
            "Instalments: "
            + "; ".join(f"{i.amount} {invoice.currency} by {i.due_date.isoformat()}" for i in instalments)
        )
    else:
        parts.append(f"due {invoice.due_date.isoformat()}")
    if invoice.discount_amount:
        parts.append(
            f"{invoice.discount_percent.normalize():f}% early-payment discount if paid by "
            f"{invoice.discount_date.isoformat()}: pay {invoice.amount_with_discount} {invoice.currency}"
        )
    parts.append(f"reference {invoice.rf_reference}")
    return ", ".join(parts)


# CII D16B / Factur-X EN 16931 -------------------------------------------------------------------
def cii(invoice: Invoice) -> bytes:
    """The Factur-X (EN 16931 profile) Cross Industry Invoice of an issued document."""
    out_of_scope = _check(invoice)
    seller, buyer = invoice.seller, invoice.buyer
    if out_of_scope:
        seller, buyer = _without_vat_ids(seller), _without_vat_ids(buyer)
    currency = invoice.currency
    b = _Builder({"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    context = b.el(root, "rsm:ExchangedDocumentContext")
    b.el(b.el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", FACTURX_EN16931)
    document = b.el(root, "rsm:ExchangedDocument")
    b.el(document, "ram:ID", invoice.number)
    b.el(document, "ram:TypeCode", "381" if invoice.is_credit_note else "380")
    b.el(b.el(document, "ram:IssueDateTime"), "udt:DateTimeString", _cii_date(invoice.issue_date), format="102")
    if invoice.is_credit_note and invoice.reason:
        b.el(b.el(document, "ram:IncludedNote"), "ram:Content", f"Reason: {invoice.reason}")
    transaction = b.el(root, "rsm:SupplyChainTradeTransaction")
    for line in invoice.lines.all():
        item = b.el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        b.el(b.el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.line_number))
        product = b.el(item, "ram:SpecifiedTradeProduct")
        sku, _, name = line.description.partition(" ")
        if name:
            b.el(product, "ram:SellerAssignedID", sku)
        b.el(product, "ram:Name", (name or sku)[:100])
        agreement = b.el(item, "ram:SpecifiedLineTradeAgreement")
        b.el(b.el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", f"{line.unit_price:f}")
        line_delivery = b.el(item, "ram:SpecifiedLineTradeDelivery")
        b.el(line_delivery, "ram:BilledQuantity", quantity(line.quantity), unitCode=unit_code(line.unit))
        settlement = b.el(item, "ram:SpecifiedLineTradeSettlement")
        tax = b.el(settlement, "ram:ApplicableTradeTax")
        b.el(tax, "ram:TypeCode", "VAT")
        b.el(tax, "ram:CategoryCode", line.tax_category)
        if line.tax_category != "O":
            b.el(tax, "ram:RateApplicablePercent", percent(line.tax_rate if line.tax_category == "S" else Decimal("0")))
        b.el(
            b.el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
            "ram:LineTotalAmount",
            amount(line.net_amount, currency),
        )
    agreement = b.el(transaction, "ram:ApplicableHeaderTradeAgreement")
    b.el(agreement, "ram:BuyerReference", invoice.customer_po or invoice.buyer.get("account_number") or None)
    _cii_party(b, agreement, "ram:SellerTradeParty", seller, seller=True)
    _cii_party(b, agreement, "ram:BuyerTradeParty", buyer, seller=False)
    order_number = invoice.order.number if invoice.order_id else ""
    if invoice.customer_po or order_number:
        b.el(
            b.el(agreement, "ram:BuyerOrderReferencedDocument"),
            "ram:IssuerAssignedID",
            (invoice.customer_po or order_number)[:50],
        )
    delivery = b.el(transaction, "ram:ApplicableHeaderTradeDelivery")
    ship_to = b.el(b.el(delivery, "ram:ShipToTradeParty"), "ram:PostalTradeAddress")
    b.el(ship_to, "ram:CountryID", invoice.buyer.get("country", "BE"))
    event = b.el(delivery, "ram:ActualDeliverySupplyChainEvent")
    b.el(
        b.el(event, "ram:OccurrenceDateTime"),
        "udt:DateTimeString",
        _cii_date(invoice.supply_date or invoice.issue_date),
        format="102",
    )
    if invoice.shipment_id:
        b.el(b.el(delivery, "ram:DespatchAdviceReferencedDocument"), "ram:IssuerAssignedID", invoice.shipment.number)
    settlement = b.el(transaction, "ram:ApplicableHeaderTradeSettlement")
    if not invoice.is_credit_note:
        b.el(settlement, "ram:PaymentReference", invoice.rf_reference)
    b.el(settlement, "ram:InvoiceCurrencyCode", currency)
    if not invoice.is_credit_note:
        means = b.el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        b.el(means, "ram:TypeCode", "58")
        b.el(b.el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", invoice.seller.get("iban"))
        if invoice.seller.get("bic"):
            b.el(b.el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", invoice.seller["bic"])
    for row in invoice.tax_lines.all():
        tax = b.el(settlement, "ram:ApplicableTradeTax")
        b.el(tax, "ram:CalculatedAmount", amount(row.tax_amount, currency))
        b.el(tax, "ram:TypeCode", "VAT")
        if row.exemption_reason:
            b.el(tax, "ram:ExemptionReason", row.exemption_reason)
        b.el(tax, "ram:BasisAmount", amount(row.taxable_amount, currency))
        b.el(tax, "ram:CategoryCode", row.category)
        if row.exemption_code:
            b.el(tax, "ram:ExemptionReasonCode", row.exemption_code)
        if row.category != "O":
            b.el(tax, "ram:RateApplicablePercent", percent(row.rate))
    if invoice.period_start and invoice.period_end:
        period = b.el(settlement, "ram:BillingSpecifiedPeriod")
        b.el(b.el(period, "ram:StartDateTime"), "udt:DateTimeString", _cii_date(invoice.period_start), format="102")
        b.el(b.el(period, "ram:EndDateTime"), "udt:DateTimeString", _cii_date(invoice.period_end), format="102")
    terms = b.el(settlement, "ram:SpecifiedTradePaymentTerms")
    b.el(terms, "ram:Description", payment_terms_text(invoice))
    if not invoice.is_credit_note:
        b.el(b.el(terms, "ram:DueDateDateTime"), "udt:DateTimeString", _cii_date(invoice.due_date), format="102")
    sums = b.el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.el(sums, "ram:LineTotalAmount", amount(invoice.net_amount, currency))
    b.el(sums, "ram:TaxBasisTotalAmount", amount(invoice.net_amount, currency))
    b.el(sums, "ram:TaxTotalAmount", amount(invoice.tax_amount, currency), currencyID=currency)
    b.el(sums, "ram:GrandTotalAmount", amount(invoice.total, currency))
    b.el(sums, "ram:DuePayableAmount", amount(invoice.total, currency))
    if invoice.is_credit_note:
        credited = invoice.credited_invoice
        reference = b.el(settlement, "ram:InvoiceReferencedDocument")
        b.el(reference, "ram:IssuerAssignedID", credited.number)
        b.el(
            b.el(reference, "ram:FormattedIssueDateTime"),
            "qdt:DateTimeString",
            _cii_date(credited.issue_date),
            format="102",
        )
    _drop_empty(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cii_party(b: _Builder, parent, tag: str, party: dict, *, seller: bool) -> None:
    node = b.el(parent, tag)
    if not seller and party.get("account_number"):
        b.el(node, "ram:ID", party["account_number"])
    b.el(node, "ram:Name", party.get("name"))
    if seller and party.get("registration_id"):
        b.el(b.el(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party["registration_id"])
    address = b.el(node, "ram:PostalTradeAddress")
    b.el(address, "ram:PostcodeCode", party.get("postal_code") or None)
    b.el(address, "ram:LineOne", party.get("address_line") or None)
    b.el(address, "ram:CityName", party.get("city") or None)
    b.el(address, "ram:CountryID", party.get("country") or "BE")
    try:
        scheme, endpoint_id = endpoint(party)
    except EInvoiceError:
        scheme = endpoint_id = ""
    if endpoint_id:
        b.el(b.el(node, "ram:URIUniversalCommunication"), "ram:URIID", endpoint_id, schemeID=scheme)
    if party.get("vat_id"):
        b.el(b.el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["vat_id"], schemeID="VA")


def _cii_date(day) -> str:
    return day.strftime("%Y%m%d")
