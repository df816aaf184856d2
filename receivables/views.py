from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from invoicing.models import Invoice
from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from o2c.core.roles import any_permission, permission_required

from . import collections, selectors, writeoffs
from .forms import DecisionForm, RefundRequestForm, WriteOffRequestForm
from .models import Payment, Refund, WriteOff


@permission_required("receivables.view_payment")
def open_items(request):
    """Aging at a glance, then every open invoice, oldest due first, 50 a page (keyset).
    Filters (GET): customer (part of name or account number), overdue=1."""
    today = timezone.localdate()
    customer = request.GET.get("customer", "").strip()[:100]
    overdue_only = request.GET.get("overdue") == "1"
    items = selectors.open_items_list(customer=customer, overdue_on=today if overdue_only else None)
    page = keyset_page(request, items, order=selectors.OPEN_ITEMS_ORDER)
    for item in page.rows:
        item.days_overdue = selectors.days_overdue(item.due_date, on=today)
    context = {
        "page": page,
        "customer": customer,
        "overdue_only": overdue_only,
        "filtered": bool(customer or overdue_only),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/open_items.html#results", context)
    aging = selectors.aging_summary(on=today)
    context |= {
        "today": today,
        "aging": aging,
        "aging_max": max((bucket["amount"] for bucket in aging), default=0),
        "aging_total": sum(bucket["amount"] for bucket in aging),
        "currency": settings.O2C_DEFAULT_CURRENCY,
        "reconciliation": selectors.latest_reconciliation(),
    }
    return render(request, "receivables/open_items.html", context)


@permission_required("receivables.view_collectionactivity")
def worklist(request):
    """The collector's worklist: accounts with overdue items, highest score first, 50 a page.
    Filters (GET): collector = me | all | <collector id>, segment, page. One query for the rows."""
    today = timezone.localdate()
    mine = getattr(request.user, "collector", None)  # None: this user is not a collector
    chosen = request.GET.get("collector", "me" if mine else "all")
    collector_id = None
    if chosen == "me":
        collector_id = mine.pk if mine else -1  # not a collector: nothing is "mine"
    elif chosen.isdigit():
        collector_id = int(chosen)
    segment = request.GET.get("segment", "").strip()[:30]
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    page = collections.worklist(on=today, collector_id=collector_id, segment=segment, page=number)
    context = {
        "page": page,
        "today": today,
        "chosen": chosen,
        "segment": segment,
        "filtered": bool(segment) or chosen != ("me" if mine else "all"),
        "is_collector": mine is not None,
        "previous_url": _with_page(request, page.number - 1) if page.has_previous else "",
        "next_url": _with_page(request, page.number + 1) if page.has_next else "",
        "score_parts": collections.score_explained(),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/worklist.html#results", context)
    context |= {"collectors": collections.active_collectors(), "segments": collections.segments()}
    return render(request, "receivables/worklist.html", context)


def _with_page(request, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return f"{request.path}?{query.urlencode()}"


# Write-offs and refunds ------------------------------------------------------------------------------
def _errors_onto(form, error: DomainError) -> None:
    """A service's refusal onto the form: field problems beside their fields, the message on top."""
    named = False
    for _, field, text in error.problems:
        if field in form.fields:
            form.add_error(field, text)
            named = True
    form.add_error(None, error.message if named else str(error))


@any_permission("receivables.add_writeoff", "receivables.change_writeoff")
def write_offs(request):
    """Write-offs posted, latest first (small balances and approved bad debts), 50 a page."""
    rows = selectors.posted_write_offs()
    page = keyset_page(request, rows, order=("-requested_at", "-id"))
    waiting = WriteOff.objects.filter(status=WriteOff.Status.REQUESTED).count()
    return render(request, "receivables/write_offs.html", {"page": page, "waiting": waiting})


@permission_required("receivables.add_writeoff")
def write_off_new(request, invoice_id: int):
    """Ask for a bad-debt write-off of an open invoice; a finance manager approves it."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=invoice_id)
    form = WriteOffRequestForm(request.POST or None, initial={"amount": invoice.amount_open})
    if request.method == "POST" and form.is_valid():
        try:
            write_off = writeoffs.request_bad_debt_write_off(invoice=invoice, by=request.user, **form.cleaned_data)
        except DomainError as error:
            _errors_onto(form, error)
        else:
            messages.success(
                request,
                f"Write-off of {write_off.amount} {invoice.currency} on {invoice.number} asked for; "
                "a finance manager approves it before it is posted.",
            )
            return redirect("desk:invoice_detail", pk=invoice.pk)
    return render(request, "receivables/write_off_new.html", {"invoice": invoice, "form": form})


@permission_required("receivables.change_writeoff")
def write_off_approvals(request):
    """Bad-debt write-offs waiting for a second person, oldest first."""
    rows = WriteOff.objects.filter(status=WriteOff.Status.REQUESTED).select_related("invoice__customer", "requested_by")
    return render(
        request,
        "receivables/approvals.html",
        {"kind": "write-off", "rows": rows.order_by("requested_at", "id")[:200], "form": DecisionForm()},
    )


@require_POST
@permission_required("receivables.change_writeoff")
def write_off_decide(request, pk: int):
    write_off = get_object_or_404(WriteOff, pk=pk)
    return _decide(
        request, write_off, writeoffs.approve_write_off, writeoffs.reject_write_off, "receivables:write_off_approvals"
    )


@any_permission("receivables.add_refund", "receivables.change_refund")
def refunds(request):
    """Credit balances (payments with unapplied cash) that may be refunded, and refunds paid out."""
    balances = selectors.credit_balances()[:100]
    page = keyset_page(request, selectors.posted_refunds(), order=("-requested_at", "-id"))
    waiting = Refund.objects.filter(status=Refund.Status.REQUESTED).count()
    return render(request, "receivables/refunds.html", {"balances": balances, "page": page, "waiting": waiting})


@permission_required("receivables.add_refund")
def refund_new(request, payment_id: int):
    """Ask to pay back part or all of a payment's unapplied cash to an IBAN."""
    payment = get_object_or_404(Payment.objects.select_related("customer"), pk=payment_id)
    form = RefundRequestForm(
        request.POST or None, initial={"amount": writeoffs.refundable(payment), "iban": payment.payer_iban}
    )
    if request.method == "POST" and form.is_valid():
        try:
            refund = writeoffs.request_refund(payment=payment, by=request.user, **form.cleaned_data)
        except DomainError as error:
            _errors_onto(form, error)
        else:
            messages.success(
                request,
                f"Refund of {refund.amount} {payment.currency} to {refund.iban} asked for; "
                "a finance manager approves it before it is paid out.",
            )
            return redirect("receivables:refunds")
    return render(request, "receivables/refund_new.html", {"payment": payment, "form": form})


@permission_required("receivables.change_refund")
def refund_approvals(request):
    rows = Refund.objects.filter(status=Refund.Status.REQUESTED).select_related("payment__customer", "requested_by")
    return render(
        request,
        "receivables/approvals.html",
        {"kind": "refund", "rows": rows.order_by("requested_at", "id")[:200], "form": DecisionForm()},
    )


@require_POST
@permission_required("receivables.change_refund")
def refund_decide(request, pk: int):
    refund = get_object_or_404(Refund, pk=pk)
    return _decide(request, refund, writeoffs.approve_refund, writeoffs.reject_refund, "receivables:refund_approvals")


def _decide(request, subject, approve, reject, back: str):
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect(back)
    name = "write_off" if isinstance(subject, WriteOff) else "refund"
    try:
        if form.cleaned_data["action"] == "approve":
            approve(**{name: subject, "by": request.user})
            messages.success(request, f"{subject} approved and posted.")
        else:
            reject(**{name: subject, "by": request.user, "note": form.cleaned_data["note"]})
            messages.success(request, f"{subject} rejected; nothing was posted.")
    except DomainError as error:
        messages.error(request, str(error))
    return redirect(back)
