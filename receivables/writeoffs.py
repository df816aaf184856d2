"""Write-offs and refunds: open amounts the company stops asking for, and credit balances paid back.

- Small balances: every night, issued invoices with a little left open (at most the collections
  settings' `small_balance_limit`) and due more than `small_balance_min_days` ago are written
  off at once: Dr small differences written off / Cr receivables; the invoice becomes paid.
- Bad debt: one person asks (reason, amount up to what is open), ANOTHER person with
  receivables.change_writeoff approves; only then is it posted: Dr bad debts / Cr receivables.
- Refund of a credit balance (a payment's unapplied cash): asked for with the IBAN to pay to,
  approved by another person, posted Dr unapplied cash / Cr bank.

A refunded amount counts as used cash of its payment: `Payment.amount_applied` goes up by it, so
`amount - amount_applied` (the payment's unapplied cash, read by every screen, by allocation's
guard and by the nightly integrity check) goes down exactly as the ledger's unapplied-cash
account does. The integrity check proves `amount_applied = allocations + posted refunds`.

Every action is one transaction that locks what it changes, records a timeline event, and is safe
to repeat: asking twice returns the first request, approving a posted one changes nothing."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from invoicing import services as invoicing
from invoicing.models import Invoice
from o2c.core import timeline

from .models import Account, CollectionsSettings, Dispute, JournalEntry, Payment, Refund, WriteOff
from .services import ReceivablesError, _post

ZERO = Decimal("0")
APPROVE_WRITE_OFF = "receivables.change_writeoff"
APPROVE_REFUND = "receivables.change_refund"


class WriteOffError(ReceivablesError):
    pass


def _clean_reason(reason: str, where: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise WriteOffError("Say why.", [(where, "reason", "is required")])
    if len(reason) > 200:
        raise WriteOffError("The reason is too long.", [(where, "reason", "at most 200 characters")])
    return reason


def _positive(amount, where: str) -> Decimal:
    if amount is None or Decimal(amount) <= 0:
        raise WriteOffError("The amount must be above zero.", [(where, "amount", "must be above zero")])
    amount = Decimal(amount)
    if amount != amount.quantize(Decimal("0.01")):
        raise WriteOffError("The amount has more than two decimals.", [(where, "amount", "at most 2 decimals")])
    return amount


# --- small balances --------------------------------------------------------------------------------
def small_balance_candidates(*, on: datetime.date):
    """Issued invoices (not credit notes) with 0 < open <= the limit, due before `on` - min days,
    and no dispute still open on them (the customer contests it: a person decides, not the run)."""
    rules = CollectionsSettings.current()
    cutoff = on - datetime.timedelta(days=rules.small_balance_min_days)
    return (
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            amount_open__gt=0,
            amount_open__lte=rules.small_balance_limit,
            due_date__lt=cutoff,
        )
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .exclude(Exists(Dispute.objects.filter(invoice=OuterRef("pk")).exclude(status=Dispute.Status.RESOLVED)))
        .order_by("id")
    )


def write_off_small_balances(*, on: datetime.date) -> list[WriteOff]:
    """Write off every small balance due long enough before `on`, one transaction per invoice
    (an invoice paid or changed meanwhile is looked at again under its lock and left alone).
    Running it twice writes off nothing more: the invoices are paid after the first run."""
    written = []
    for invoice_id in small_balance_candidates(on=on).values_list("id", flat=True).iterator():
        write_off = _write_off_small_balance(invoice_id=invoice_id, on=on)
        if write_off is not None:
            written.append(write_off)
    return written


@transaction.atomic
def _write_off_small_balance(*, invoice_id: int, on: datetime.date) -> WriteOff | None:
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice_id)
    if not small_balance_candidates(on=on).filter(pk=invoice.pk).exists():
        return None  # paid, credited or changed since the list was read
    amount = invoice.amount_open
    rules = CollectionsSettings.current()
    write_off = WriteOff.objects.create(
        invoice=invoice,
        kind=WriteOff.Kind.SMALL_BALANCE,
        amount=amount,
        reason=f"Small balance up to {rules.small_balance_limit}, {rules.small_balance_min_days}+ days past due",
        status=WriteOff.Status.POSTED,
        decided_at=timezone.now(),
    )
    _post_write_off(write_off, invoice=invoice, account=Account.WRITE_OFFS, on=on, by=None)
    timeline.record(
        write_off,
        "written_off",
        summary=f"{amount} {invoice.currency} small balance of {invoice.number} written off automatically",
        trail=f"invoice:{invoice.pk}",
    )
    return write_off


def _post_write_off(write_off: WriteOff, *, invoice: Invoice, account: str, on: datetime.date, by) -> None:
    _post(
        kind=JournalEntry.Kind.WRITE_OFF,
        customer=invoice.customer,
        currency=invoice.currency,
        effective_date=on,
        description=f"{write_off.get_kind_display()} written off on {invoice.number}",
        invoice=invoice,
        by=by,
        lines=[(account, write_off.amount, ZERO), (Account.RECEIVABLES, ZERO, write_off.amount)],
    )
    invoicing.reduce_open_amount(invoice_id=invoice.pk, amount=write_off.amount)


# --- bad debt ----------------------------------------------------------------------------------------
@transaction.atomic
def request_bad_debt_write_off(*, invoice: Invoice, amount: Decimal, reason: str, by) -> WriteOff:
    """Ask for a bad-debt write-off of up to the invoice's open amount; nothing is posted yet.
    The same request again (same person, amount and reason while it waits) returns the first."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = _positive(amount, "write-off")
    reason = _clean_reason(reason, "write-off")
    if invoice.kind == Invoice.Kind.CREDIT_NOTE or invoice.status != Invoice.Status.ISSUED:
        raise WriteOffError(f"{invoice} is {invoice.get_status_display().lower()}; only open invoices are written off.")
    waiting = list(WriteOff.objects.filter(invoice=invoice, status=WriteOff.Status.REQUESTED))
    for earlier in waiting:
        if (earlier.requested_by_id, earlier.amount, earlier.reason) == (by.pk, amount, reason):
            return earlier
    already_asked = sum((w.amount for w in waiting), ZERO)
    if amount + already_asked > invoice.amount_open:
        room = invoice.amount_open - already_asked
        raise WriteOffError(
            f"{invoice.number} has {invoice.amount_open} {invoice.currency} open"
            + (f" and {already_asked} already waiting for approval" if already_asked else "")
            + f"; at most {room} can be written off.",
            [("write-off", "amount", f"at most {room}")],
        )
    write_off = WriteOff.objects.create(
        invoice=invoice, kind=WriteOff.Kind.BAD_DEBT, amount=amount, reason=reason, requested_by=by
    )
    timeline.record(
        write_off,
        "write_off_requested",
        summary=f"Bad-debt write-off of {amount} {invoice.currency} on {invoice.number} asked for: {reason}",
        trail=f"invoice:{invoice.pk}",
        by=by,
    )
    return write_off


def _decided(request, status: str, by) -> None:
    """Record the second person's decision on a write-off or refund request (locked by the caller)."""
    request.status, request.decided_by, request.decided_at = status, by, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])


def _check_second_person(request, by, permission: str, what: str) -> None:
    if request.requested_by_id is not None and request.requested_by_id == by.pk:
        raise WriteOffError(
            f"You asked for this {what} yourself; another person must approve or reject it (four eyes)."
        )
    if not by.has_perm(permission):
        raise WriteOffError(f"Approving a {what} needs the permission {permission}.")


@transaction.atomic
def approve_write_off(*, write_off: WriteOff, by, on: datetime.date | None = None) -> WriteOff:
    """The second person approves: the write-off is posted (Dr bad debts / Cr receivables) and the
    invoice's open amount goes down. Approving one already posted changes nothing."""
    write_off = WriteOff.objects.select_for_update().get(pk=write_off.pk)
    if write_off.status == WriteOff.Status.POSTED:
        return write_off
    if write_off.status == WriteOff.Status.REJECTED:
        raise WriteOffError(f"Write-off #{write_off.pk} was rejected; ask again if it is still needed.")
    _check_second_person(write_off, by, APPROVE_WRITE_OFF, "write-off")
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=write_off.invoice_id)
    if invoice.status != Invoice.Status.ISSUED or write_off.amount > invoice.amount_open:
        raise WriteOffError(
            f"{invoice.number} has only {invoice.amount_open} {invoice.currency} open now (paid or credited since "
            f"the request); reject this write-off and ask again for what is left.",
            [("write-off", "amount", f"at most {invoice.amount_open}")],
        )
    _decided(write_off, WriteOff.Status.POSTED, by)
    _post_write_off(write_off, invoice=invoice, account=Account.BAD_DEBTS, on=on or timezone.localdate(), by=by)
    timeline.record(
        write_off,
        "written_off",
        summary=f"Bad-debt write-off of {write_off.amount} {invoice.currency} on {invoice.number} approved and posted",
        trail=f"invoice:{invoice.pk}",
        by=by,
    )
    return write_off


@transaction.atomic
def reject_write_off(*, write_off: WriteOff, by, note: str = "") -> WriteOff:
    """The second person says no: nothing is posted. Rejecting twice changes nothing."""
    write_off = WriteOff.objects.select_for_update().get(pk=write_off.pk)
    if write_off.status == WriteOff.Status.REJECTED:
        return write_off
    if write_off.status == WriteOff.Status.POSTED:
        raise WriteOffError(f"Write-off #{write_off.pk} is already posted; it cannot be rejected.")
    _check_second_person(write_off, by, APPROVE_WRITE_OFF, "write-off")
    _decided(write_off, WriteOff.Status.REJECTED, by)
    timeline.record(
        write_off,
        "write_off_rejected",
        summary=f"Write-off of {write_off.amount} on invoice #{write_off.invoice_id} rejected",
        trail=f"invoice:{write_off.invoice_id}",
        note=note[:500],
        by=by,
    )
    return write_off


# --- refunds -----------------------------------------------------------------------------------------
def clean_iban(value: str) -> str:
    """The IBAN in compact form, or a WriteOffError naming the field."""
    try:
        return IBAN(value or "").compact
    except SchwiftyException as error:
        raise WriteOffError("The IBAN is not valid.", [("refund", "iban", str(error))]) from error


def refundable(payment: Payment) -> Decimal:
    """The payment's unapplied cash less refunds already waiting for approval."""
    waiting = payment.refunds.filter(status=Refund.Status.REQUESTED).aggregate(t=Coalesce(Sum("amount"), ZERO))["t"]
    return payment.amount_unapplied - waiting


@transaction.atomic
def request_refund(*, payment: Payment, amount: Decimal, iban: str, reason: str, by) -> Refund:
    """Ask to pay back up to the payment's unapplied cash (less refunds already asked for) to an
    IBAN. Nothing is posted yet; the same request again returns the first."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = _positive(amount, "refund")
    iban = clean_iban(iban)
    reason = _clean_reason(reason, "refund")
    if payment.status == Payment.Status.REVERSED:
        raise WriteOffError(f"Payment #{payment.pk} was reversed; there is nothing to refund.")
    for earlier in payment.refunds.filter(status=Refund.Status.REQUESTED):
        if (earlier.requested_by_id, earlier.amount, earlier.iban) == (by.pk, amount, iban):
            return earlier
    room = refundable(payment)
    if amount > room:
        raise WriteOffError(
            f"Payment #{payment.pk} has {payment.amount_unapplied} {payment.currency} unapplied"
            + (
                f" and {payment.amount_unapplied - room} already waiting to be refunded"
                if room != payment.amount_unapplied
                else ""
            )
            + f"; at most {room} can be refunded.",
            [("refund", "amount", f"at most {room}")],
        )
    refund = Refund.objects.create(payment=payment, amount=amount, iban=iban, reason=reason, requested_by=by)
    timeline.record(
        refund,
        "refund_requested",
        summary=f"Refund of {amount} {payment.currency} from payment #{payment.pk} to {iban} asked for: {reason}",
        trail=f"payment:{payment.pk}",
        by=by,
    )
    return refund


@transaction.atomic
def approve_refund(*, refund: Refund, by, on: datetime.date | None = None) -> Refund:
    """The second person approves: Dr unapplied cash / Cr bank, and the payment's unapplied cash
    goes down by the refund (amount_applied up). Approving one already posted changes nothing."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == Refund.Status.POSTED:
        return refund
    if refund.status == Refund.Status.REJECTED:
        raise WriteOffError(f"Refund #{refund.pk} was rejected; ask again if it is still needed.")
    _check_second_person(refund, by, APPROVE_REFUND, "refund")
    payment = Payment.objects.select_for_update().select_related("customer").get(pk=refund.payment_id)
    if payment.status == Payment.Status.REVERSED or refund.amount > payment.amount_unapplied:
        raise WriteOffError(
            f"Payment #{payment.pk} has only {payment.amount_unapplied} {payment.currency} unapplied now "
            f"(applied or reversed since the request); reject this refund and ask again.",
            [("refund", "amount", f"at most {payment.amount_unapplied}")],
        )
    Payment.objects.filter(pk=payment.pk).update(amount_applied=Round(F("amount_applied") + refund.amount, 2))
    payment.refresh_from_db()
    payment.status = Payment.Status.APPLIED if payment.amount_unapplied == 0 else Payment.Status.PARTIALLY_APPLIED
    payment.save(update_fields=["status"])
    _decided(refund, Refund.Status.POSTED, by)
    _post(
        kind=JournalEntry.Kind.REFUND,
        customer=payment.customer,
        currency=payment.currency,
        effective_date=on or timezone.localdate(),
        description=f"Refund #{refund.pk} of payment #{payment.pk} to {refund.iban}",
        payment=payment,
        by=by,
        lines=[(Account.UNAPPLIED_CASH, refund.amount, ZERO), (Account.BANK, ZERO, refund.amount)],
    )
    timeline.record(
        refund,
        "refunded",
        summary=f"Refund of {refund.amount} {payment.currency} to {refund.iban} approved and posted",
        trail=f"payment:{payment.pk}",
        by=by,
    )
    return refund


@transaction.atomic
def reject_refund(*, refund: Refund, by, note: str = "") -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == Refund.Status.REJECTED:
        return refund
    if refund.status == Refund.Status.POSTED:
        raise WriteOffError(f"Refund #{refund.pk} is already paid out; it cannot be rejected.")
    _check_second_person(refund, by, APPROVE_REFUND, "refund")
    _decided(refund, Refund.Status.REJECTED, by)
    timeline.record(
        refund,
        "refund_rejected",
        summary=f"Refund of {refund.amount} from payment #{refund.payment_id} rejected",
        trail=f"payment:{refund.payment_id}",
        note=note[:500],
        by=by,
    )
    return refund
