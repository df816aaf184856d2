"""Emails the credit room sends. Sent only after the deciding transaction commits, so a
rolled-back decision never tells anyone anything."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from orders.models import SalesOrder
from orders.selectors import contact_emails


def tell_rejected(*, order: SalesOrder, reason: str) -> None:
    """Tell the clerk who entered the order and the customer's contact that it was rejected."""
    customer = order.customer
    subject = f"Order {order.number} was not accepted"
    customer_text = (
        f"Dear {customer.name},\n\n"
        f"We are sorry: your order {order.number}"
        f"{f' (your PO {order.customer_po})' if order.customer_po else ''} "
        f"of {order.total} {order.currency} could not be accepted.\n"
        f"Reason: {reason}\n\n"
        "Please contact our credit department if you have questions.\n"
    )
    clerk = order.created_by
    clerk_text = (
        f"Order {order.number} for {customer.name} ({customer.account_number}) was rejected by credit.\n"
        f"Reason: {reason}\n"
    )

    def send():
        if to := contact_emails(customer, "orders"):
            send_mail(subject, customer_text, settings.DEFAULT_FROM_EMAIL, to)
        if clerk is not None and clerk.email:
            send_mail(f"Rejected by credit: {order.number}", clerk_text, settings.DEFAULT_FROM_EMAIL, [clerk.email])

    transaction.on_commit(send)
