"""AR writes: ledger postings, payments and their allocation to invoices.

Every money event becomes one balanced JournalEntry in the same transaction as the event."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from invoicing import services as invoicing
from invoicing.models import Invoice
from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.transactions import atomic
from orders.models import Customer

from .models import Account, Allocation, JournalEntry, JournalLine, Payment


class ReceivablesError(DomainError):
    pass


def _post(*, kind, customer, currency, effective_date, description, lines, by=None, invoice=None, payment=None):
    debits = sum((debit for _, debit, _ in lines), Decimal("0"))
    credits = sum((credit for _, _, credit in lines), Decimal("0"))
    if debits != credits:  # the database checks this again at commit
        raise ReceivablesError(f"Unbalanced posting for {description}: debits {debits}, credits {credits}.")
    entry = JournalEntry.objects.create(
        kind=kind,
        customer=customer,
        currency=currency,
        effective_date=effective_date,
        description=description,
        invoice=invoice,
        payment=payment,
        posted_by=by,
    )
    JournalLine.objects.bulk_create(
        JournalLine(entry=entry, account=account, customer=customer, debit=debit, credit=credit)
        for account, debit, credit in lines
        if debit or credit
    )
    return entry


@atomic
def post_invoice(*, invoice: Invoice, by=None) -> JournalEntry:
    """Dr receivables (gross) / Cr revenue (net) / Cr output tax (tax)."""
    if invoice.status == Invoice.Status.DRAFT:
        raise ReceivablesError(f"{invoice} is a draft; only issued invoices are posted.")
    if JournalEntry.objects.filter(kind=JournalEntry.Kind.INVOICE, invoice=invoice).exists():
        raise ReceivablesError(f"Invoice {invoice} is already posted.")
    zero = Decimal("0")
    return _post(
        kind=JournalEntry.Kind.INVOICE,
        customer=invoice.customer,
        currency=invoice.currency,
        effective_date=invoice.issue_date,
        description=f"Invoice {invoice.number}",
        invoice=invoice,
        by=by,
        lines=[
            (Account.RECEIVABLES, invoice.total, zero),
            (Account.REVENUE, zero, invoice.net_amount),
            (Account.TAX, zero, invoice.tax_amount),
        ],
    )


def record_payment(
    *,
    customer: Customer,
    amount: Decimal,
    value_date: datetime.date,
    by=None,
    method: str = Payment.Method.TRANSFER,
    reference: str = "",
    currency: str | None = None,
    idempotency_key: str | None = None,
) -> Payment:
    """Money received from a customer, not yet applied: Dr bank / Cr unapplied cash.

    With an idempotency key, a repeat of the same request returns the first payment and a
    repeat with other figures is refused; the unique key makes racing repeats safe too."""
    currency = currency or customer.currency
    if amount <= 0:
        raise ReceivablesError("The amount received must be above zero.", [("payment", "amount", "must be above zero")])
    if idempotency_key:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return _same_payment_or_refuse(existing, customer, amount, currency)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                customer=customer,
                amount=amount,
                currency=currency,
                value_date=value_date,
                method=method,
                reference=reference,
                idempotency_key=idempotency_key or None,
                received_by=by,
            )
            _post(
                kind=JournalEntry.Kind.PAYMENT,
                customer=customer,
                currency=currency,
                effective_date=value_date,
                description=f"Payment #{payment.pk} received" + (f" ({reference})" if reference else ""),
                payment=payment,
                by=by,
                lines=[(Account.BANK, amount, Decimal("0")), (Account.UNAPPLIED_CASH, Decimal("0"), amount)],
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        return _same_payment_or_refuse(Payment.objects.get(idempotency_key=idempotency_key), customer, amount, currency)
    return payment


def _same_payment_or_refuse(existing: Payment, customer: Customer, amount: Decimal, currency: str) -> Payment:
    if (existing.customer_id, existing.amount, existing.currency) != (customer.pk, amount, currency):
        raise ReceivablesError("This idempotency key was already used for a different payment; nothing was recorded.")
    return existing


@atomic
def allocate_payment(*, payment: Payment, invoice: Invoice, amount: Decimal, by=None, trail: str = "") -> Allocation:
    """Apply part of a payment to an invoice: Dr unapplied cash / Cr receivables.

    The payment row is locked (so its cash is never applied twice) and the invoice's open
    amount goes down in a guarded statement (so it never goes below zero)."""
    payment = Payment.objects.select_for_update(of=("self",)).select_related("customer").get(pk=payment.pk)
    if payment.status == Payment.Status.REVERSED:
        raise ReceivablesError(f"Payment #{payment.pk} was reversed; it cannot be applied.")
    if invoice.customer_id != payment.customer_id:
        raise ReceivablesError(f"Invoice {invoice} belongs to another customer than payment #{payment.pk}.")
    if invoice.currency != payment.currency:
        raise ReceivablesError(f"Invoice {invoice} is in {invoice.currency}, the payment in {payment.currency}.")
    if amount > payment.amount_unapplied:
        raise ReceivablesError(
            f"Payment #{payment.pk} has only {payment.amount_unapplied} {payment.currency} left to apply.",
            [("allocation", "amount", f"at most {payment.amount_unapplied}")],
        )
    invoice = invoicing.reduce_open_amount(invoice_id=invoice.pk, amount=amount)
    allocation = Allocation.objects.create(payment=payment, invoice=invoice, amount=amount, created_by=by)
    # The row is locked: what is applied now is known here, and written in one statement.
    payment.amount_applied += amount  # Decimal: exact (the database column keeps two places)
    payment.status = Payment.Status.APPLIED if payment.amount_unapplied == 0 else Payment.Status.PARTIALLY_APPLIED
    payment.save(update_fields=["amount_applied", "status"])
    _post(
        kind=JournalEntry.Kind.ALLOCATION,
        customer=payment.customer,
        currency=payment.currency,
        effective_date=payment.value_date,
        description=f"Payment #{payment.pk} applied to {invoice.number}",
        invoice=invoice,
        payment=payment,
        by=by,
        lines=[(Account.UNAPPLIED_CASH, amount, Decimal("0")), (Account.RECEIVABLES, Decimal("0"), amount)],
    )
    paid_note = "; invoice paid in full" if invoice.status == Invoice.Status.PAID else f"; {invoice.amount_open} open"
    timeline.record(
        allocation,
        "applied",
        summary=f"{amount} {payment.currency} applied to {invoice.number}{paid_note}",
        trail=trail or f"invoice:{invoice.pk}",
        by=by,
    )
    return allocation


@atomic
def post_credit_note(*, credit_note: Invoice, by=None) -> JournalEntry:
    """An issued credit note: Dr revenue (net) / Dr output tax (tax) / Cr receivables (gross),
    and the invoice it corrects has that much less open (never below zero: invoicing refuses)."""
    if credit_note.kind != Invoice.Kind.CREDIT_NOTE or credit_note.status == Invoice.Status.DRAFT:
        raise ReceivablesError(f"{credit_note} is not an issued credit note.")
    if JournalEntry.objects.filter(invoice=credit_note).exists():
        raise ReceivablesError(f"Credit note {credit_note} is already posted.")
    zero = Decimal("0")
    entry = _post(
        kind=JournalEntry.Kind.CREDIT_NOTE,
        customer=credit_note.customer,
        currency=credit_note.currency,
        effective_date=credit_note.issue_date,
        description=f"Credit note {credit_note.number} on {credit_note.credited_invoice.number}",
        invoice=credit_note,
        by=by,
        lines=[
            (Account.REVENUE, credit_note.net_amount, zero),
            (Account.TAX, credit_note.tax_amount, zero),
            (Account.RECEIVABLES, zero, credit_note.total),
        ],
    )
    invoicing.reduce_open_amount(invoice_id=credit_note.credited_invoice_id, amount=credit_note.total)
    return entry


@atomic
def post_charge(*, charge: Invoice, fee: Decimal, interest: Decimal, by=None) -> JournalEntry:
    """An issued dunning charge: Dr receivables (total) / Cr dunning fees (fee) / Cr interest
    income (interest). Fee and interest must add up to the charge's total (it carries no tax)."""
    if charge.kind != Invoice.Kind.CHARGE or charge.status == Invoice.Status.DRAFT:
        raise ReceivablesError(f"{charge} is not an issued dunning charge.")
    if fee + interest != charge.total or charge.tax_amount:
        raise ReceivablesError(
            f"Charge {charge}: fee {fee} + interest {interest} do not make its total {charge.total}."
        )
    if JournalEntry.objects.filter(kind=JournalEntry.Kind.CHARGE, invoice=charge).exists():
        raise ReceivablesError(f"Charge {charge} is already posted.")
    zero = Decimal("0")
    return _post(
        kind=JournalEntry.Kind.CHARGE,
        customer=charge.customer,
        currency=charge.currency,
        effective_date=charge.issue_date,
        description=f"Dunning charge {charge.number}",
        invoice=charge,
        by=by,
        lines=[
            (Account.RECEIVABLES, charge.total, zero),
            (Account.FEE_INCOME, zero, fee),
            (Account.INTEREST_INCOME, zero, interest),
        ],
    )
