"""Portal test data: customer users with rights, and invoices made through the real flow."""

from decimal import Decimal

from invoicing import services as invoicing
from invoicing.models import InvoiceDocument
from o2c import flow
from o2c.core import roles
from orders.services import LineInput
from portal.models import PortalAccess
from tests.core.factories import user_in
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import ProductFactory

PDF_BYTES = b"%PDF-1.7\n% not a real invoice\n"


def portal_user(customer, username: str, *, can_order=True, can_pay=True, can_manage_users=True):
    user = user_in(roles.CUSTOMER, username=username)
    user.email = f"{username}@{customer.account_number.lower()}.example"
    user.save(update_fields=["email"])
    PortalAccess.objects.create(
        user=user, customer=customer, can_order=can_order, can_pay=can_pay, can_manage_users=can_manage_users
    )
    return user


def widget(sku: str = "W-1", price: str = "100.00"):
    product = ProductFactory(sku=sku, name="Steel widget", unit_price=Decimal(price))  # 121.00 with 21% tax
    stock(product, "10000")
    return product


def order_for(clerk, customer, *, sku: str = "W-1", quantity: str = "1", po: str = ""):
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer, "1000000.00")
    return flow.submit_order(
        by=clerk, customer_account=customer.account_number, lines=[LineInput(sku, quantity)], customer_po=po
    )


def invoice_for(clerk, warehouse, customer, *, with_pdf=True, **order_fields):
    invoice = flow.ship(
        order=order_for(clerk, customer, **order_fields), by=warehouse, carrier="DHL", tracking_number="JD0146"
    )
    if with_pdf:  # what the worker's render_invoice_pdf stores, without running WeasyPrint
        invoicing.store_document(
            invoice_id=invoice.pk, kind=InvoiceDocument.Kind.PDF, content=PDF_BYTES, filename=f"{invoice.number}.pdf"
        )
    return invoice
