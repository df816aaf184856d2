"""Customer master: tax ids per country, duplicate detection on create (pg_trgm), contacts by
role, and the clerks' customer pages (inline validation, constant query count)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c.core import roles
from orders.customers import validate_tax_id
from orders.models import Address, Contact, Customer, PaymentTerms
from orders.selectors import contact_emails, customer_list, similar_customers
from tests.core.factories import CLERK
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("tax_id", "country", "expected", "problem"),
    [
        ("0403.019.261", "BE", "BE0403019261", ""),
        ("BE 0403 019 261", "be", "BE0403019261", ""),
        ("BE0403019262", "BE", "BE0403019262", "is not a valid Belgian VAT number: the check digits do not match"),
        ("BE04030", "BE", "BE04030", "wrong number of characters"),
        ("DE0403019261", "NL", "DE0403019261", "starts with DE; a Dutch VAT number starts with NL"),
        ("094259216", "GR", "EL094259216", ""),
        ("FR40303265045", "FR", "FR40303265045", ""),
        ("CHE-116.281.710 MWST", "CH", "CHE116281710MWST", ""),
        ("CHE-116.281.711", "CH", "CHE-116.281.711", "is not a valid Swiss VAT number"),
        ("12-3456789", "US", "12-3456789", ""),  # no checker for the country: kept as typed
        ("", "BE", "", ""),
    ],
)
def test_tax_id_is_checked_for_the_country(tax_id, country, expected, problem):
    normalised, reason = validate_tax_id(tax_id, country)
    assert normalised == expected
    assert (problem in reason) if problem else reason == ""


def test_duplicates_by_tax_id_and_by_similar_name():
    acme = CustomerFactory(name="Acme Trading BV", tax_id="BE0403019261")
    CustomerFactory(name="Zenith Logistics NV")
    by_name = similar_customers(name="ACME Trading B.V.")
    assert [(d.customer, d.why.split(" (")[0]) for d in by_name] == [(acme, "similar name")]
    by_tax = similar_customers(name="Totally Different", tax_id="be0403019261")
    assert [(d.customer, d.why) for d in by_tax] == [(acme, "same tax id BE0403019261")]
    assert similar_customers(name="Brussels Bakery") == []
    assert similar_customers(name="Acme Trading BV", exclude_pk=acme.pk) == []


def test_similar_name_uses_the_trigram_index():
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_name_trgm'")
        assert "gin_trgm_ops" in cursor.fetchone()[0]


def test_customer_search_is_answered_by_the_trigram_indexes():
    """The list's search (name, account number or tax id contains) as Django writes it, UPPER(...)
    LIKE, reads the three UPPER trigram indexes (orders 0010) instead of every customer."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    CustomerFactory(name="Acme Trading BV")
    sql, params = customer_list(q="acme").query.sql_with_params()
    with connection.cursor() as cursor:
        # a tiny table: with full scans of the table or of an index priced out, show the trigram indexes answer
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("customer_name_upper_trgm", "customer_account_upper_trgm", "customer_tax_id_upper_trgm"):
        assert index in plan
    assert [c.name for c in customer_list(q="acme")] == ["Acme Trading BV"]


def test_contact_emails_by_role_fall_back_to_the_invoice_email():
    customer = CustomerFactory(email="ap@acme.example")
    Contact.objects.create(customer=customer, name="Bea", email="bea@acme.example", role=Contact.Role.DUNNING)
    Contact.objects.create(customer=customer, name="Al", email="al@acme.example", role=Contact.Role.DUNNING)
    assert contact_emails(customer, "dunning") == ["al@acme.example", "bea@acme.example"]
    assert contact_emails(customer, "orders") == ["ap@acme.example"]


# --- pages ---------------------------------------------------------------------------------------
@pytest.fixture
def clerk(staff, client):
    user = staff(CLERK)
    client.force_login(user)
    return user


def customer_post(**overrides) -> dict:
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    data = {
        "name": "Brussels Bakery SA", "account_number": "", "tax_id": "0403019261", "country": "BE",
        "address_line": "Rue Haute 1", "postal_code": "1000", "city": "Brussels", "email": "ap@bakery.example",
        "phone": "", "currency": "EUR", "language": "fr", "payment_terms": terms.pk, "price_list": "",
        "tax_treatment": "domestic", "segment": "retail", "parent": "", "is_active": "on", "blocked_reason": "",
        "addresses-TOTAL_FORMS": "1", "addresses-INITIAL_FORMS": "0",
        "addresses-0-kind": "shipping", "addresses-0-label": "Bakery", "addresses-0-name": "Brussels Bakery",
        "addresses-0-address_line": "Rue Haute 2", "addresses-0-postal_code": "1000",
        "addresses-0-city": "Brussels", "addresses-0-country": "BE",
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "0",
        "contacts-0-role": "dunning", "contacts-0-name": "Marie", "contacts-0-email": "marie@bakery.example",
    }  # fmt: skip
    return data | overrides


def test_clerk_creates_a_customer_with_address_and_contact(client, clerk):
    response = client.post(reverse("orders:customer_new"), customer_post())
    assert response.status_code == 302
    customer = Customer.objects.get(name="Brussels Bakery SA")
    assert customer.tax_id == "BE0403019261"  # stored in its compact form
    assert customer.account_number.startswith("CUST-")
    assert Address.objects.get(customer=customer).label == "Bakery"
    assert contact_emails(customer, "dunning") == ["marie@bakery.example"]


def test_inline_validation_names_the_field_and_saves_nothing(client, clerk):
    response = client.post(
        reverse("orders:customer_new"),
        customer_post(tax_id="BE0403019262", address_line="", action="validate"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="customer-fields"' in page and "<html" not in page  # only the fields partial
    assert "Tax id: &#x27;BE0403019262&#x27; is not a valid Belgian VAT number" in page
    assert "This field is required" not in page  # a field not typed in yet is not marked
    assert Customer.objects.count() == 0


def test_blocking_needs_a_reason(client, clerk):
    response = client.post(reverse("orders:customer_new"), customer_post(is_active=""))
    assert response.status_code == 422
    assert "Blocked reason: say why the customer is blocked." in response.content.decode()


def test_a_likely_duplicate_must_be_confirmed(client, clerk):
    existing = CustomerFactory(name="Brussels Bakery S.A.")
    response = client.post(reverse("orders:customer_new"), customer_post(tax_id=""))
    assert response.status_code == 422
    page = response.content.decode()
    assert "This may be a customer we already have" in page and existing.account_number in page
    assert "Tick the box to confirm this is a different customer" in page
    assert Customer.objects.count() == 1
    confirmed = client.post(reverse("orders:customer_new"), customer_post(tax_id="", confirm_not_duplicate="1"))
    assert confirmed.status_code == 302
    assert Customer.objects.count() == 2


def test_viewers_cannot_change_a_customer(client, staff):
    customer = CustomerFactory()
    client.force_login(staff(roles.WAREHOUSE))
    assert client.get(reverse("orders:customer_edit", args=[customer.pk])).status_code == 200
    assert client.post(reverse("orders:customer_edit", args=[customer.pk]), customer_post()).status_code == 403


def test_customer_list_query_count_does_not_grow(client, clerk):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            response = client.get(reverse("orders:customers"))
        assert response.status_code == 200
        return len(context)

    CustomerFactory.create_batch(3)
    few = queries()
    CustomerFactory.create_batch(60)
    assert queries() == few
    page = client.get(reverse("orders:customers") + "?q=Customer").content.decode()
    assert page.count("<tr>") == 51 and 'rel="next"' in page  # 50 rows and the header; keyset pages
