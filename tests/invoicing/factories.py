"""Invoices made the way the business makes them: orders submitted and shipped through o2c.flow."""

from decimal import Decimal

from invoicing.models import BankAccount, BillingProfile, Company
from o2c import flow
from orders.models import PaymentTerms
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE, user_in
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory


def company(**overrides) -> Company:
    values = {
        "legal_name": "Northwind Supplies NV",
        "address_line": "Kunstlaan 1",
        "postal_code": "1000",
        "city": "Brussels",
        "country": "BE",
        "vat_id": "BE0403170701",
        "registration_id": "0403170701",
        "legal_info": "NV, RPR Brussels",
        "email": "ar@northwind.example",
        "einvoice_scheme": "0208",
        "einvoice_id": "0403170701",
        "footer_text": "Northwind Supplies NV · RPR Brussels",
    }
    Company.objects.filter(is_active=True).update(is_active=False)
    values.update(overrides)
    BankAccount.objects.get_or_create(
        iban="BE71096123456769",
        defaults={"name": "KBC current", "bic": "GKCCBEBB", "currency": "EUR", "is_default": True},
    )
    return Company.objects.create(**values)


def terms(code="NET30", name="30 days net", net_days=30, **extra) -> PaymentTerms:
    return PaymentTerms.objects.update_or_create(code=code, defaults={"name": name, "net_days": net_days, **extra})[0]


def customer(*, treatment="domestic", country="BE", tax_id="BE0477472701", payment_terms=None, **profile):
    c = CustomerFactory(
        tax_treatment=treatment,
        country=country,
        tax_id=tax_id,
        payment_terms=payment_terms or terms(),
    )
    credit_limit(c)
    if profile:
        BillingProfile.objects.update_or_create(customer=c, defaults=profile)
    return c


_sku = iter(range(1, 10**6))


def product(price="10.00", rate="0.2100", *, goods=True, category="S", name=None, on_hand="1000"):
    n = next(_sku)
    p = ProductFactory(
        sku=f"P{n:05d}",
        name=name or f"Article {n}",
        unit_price=Decimal(price),
        tax_rate=Decimal(rate),
        tax_category=category,
        is_stock_tracked=goods,
        unit="pc" if goods else "h",
    )
    if goods:
        stock(p, on_hand)
    return p


def shipped_invoice(c, lines, *, customer_po="PO-4711"):
    """Submit an order of (product, quantity) lines for customer c and ship it: the invoice."""
    order = flow.submit_order(
        by=user_in(CLERK),
        customer_account=c.account_number,
        customer_po=customer_po,
        lines=[LineInput(p.sku, str(q)) for p, q in lines],
    )
    return flow.ship(order=order, by=user_in(WAREHOUSE))


def draft_for(customer, amount="10.00"):
    """A one-line draft invoice (1 h consulting at `amount`, 21%), straight from the services."""
    from invoicing import services

    invoice = services._new_draft(customer=customer, orders=set(), currency="EUR")
    return services.fill_lines(
        invoice=invoice,
        lines=[services.DraftLine("Consulting", Decimal("1"), "h", Decimal(amount), "S", Decimal("0.21"))],
    )
