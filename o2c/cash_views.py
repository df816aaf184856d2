"""Cash application pages for AR clerks: the exceptions queue, working one statement line
(accept a suggestion, split over invoices with a running remainder, on account, ignore),
statement upload with a progress bar, and manual payments (check, cash). They call o2c.flow."""

import datetime
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from invoicing.models import BankAccount, Invoice
from o2c import flow, tasks
from o2c.core import roles
from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from orders.models import Customer
from receivables import selectors
from receivables.models import Payment, StatementLine, StatementUpload
from receivables.statements.common import MAX_FILE_BYTES

ZERO = Decimal("0")


@roles.permission_required("receivables.add_payment")
def cash_queue(request):
    """Suggested and unmatched lines, oldest first, 50 a page, each with its best candidates."""
    status = request.GET.get("status", "")
    if status not in ("", "suggested", "unmatched"):
        status = ""
    page = keyset_page(request, selectors.exceptions_queue(status=status), order=("id",))
    context = {"page": page, "status": status, "uploads": StatementUpload.objects.select_related("bank_account")[:5]}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/cash_queue.html#queue", context)
    return render(request, "receivables/cash_queue.html", context)


@roles.permission_required("receivables.add_payment")
def accept_suggestion(request, pk: int):
    """One click: apply the line's suggestion number `index` (default the best)."""
    line = get_object_or_404(StatementLine, pk=pk)
    if request.method != "POST":
        return redirect("desk:cash_line", pk=pk)
    try:
        flow.accept_statement_suggestion(line=line, index=int(request.POST.get("index", "0")), by=request.user)
    except (DomainError, ValueError) as error:
        messages.error(request, f"Line #{pk} not applied: {error}")
    else:
        messages.success(request, f"Line #{pk} ({line.amount} {line.currency}) applied.")
    target = request.POST.get("next") or reverse("desk:cash_queue")
    if not target.startswith("/"):
        target = reverse("desk:cash_queue")
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


def _parts_from(post, invoices) -> tuple[list, list[str]]:
    """(invoice id, cash, discount, write-off, reason) per invoice with an amount, and problems."""
    parts, problems = [], []
    for invoice in invoices:
        values = []
        for field in ("cash", "discount", "write_off"):
            raw = (post.get(f"{field}_{invoice.pk}") or "").strip().replace(",", ".")
            try:
                value = Decimal(raw) if raw else ZERO
                if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
                    raise InvalidOperation
            except InvalidOperation:
                problems.append(f"{invoice.number}, {field.replace('_', '-')}: {raw!r} is not an amount")
                value = ZERO
            values.append(value)
        cash, discount, write_off = values
        if cash + discount + write_off > invoice.amount_open:
            problems.append(
                f"{invoice.number}: {cash + discount + write_off} is more than the {invoice.amount_open} open"
            )
        if (discount or write_off) and not cash:
            problems.append(f"{invoice.number}: a discount or write-off needs some cash applied with it")
        if cash or discount or write_off:
            parts.append((invoice.pk, cash, discount, write_off, post.get(f"reason_{invoice.pk}", "")))
    return parts, problems


def _chosen_invoices(request, *, customer_id=None, currency=""):
    ids = [int(value) for value in request.POST.getlist("invoice") if value.isdigit()]
    return list(
        Invoice.objects.filter(pk__in=ids, status=Invoice.Status.ISSUED).select_related("customer").order_by("due_date")
    )


@roles.permission_required("receivables.add_payment")
def cash_line(request, pk: int):
    """Work one line: its candidates and why; search open items; split the amount over them with
    a running remainder (htmx preview on every keystroke); on account; ignore."""
    line = get_object_or_404(StatementLine.objects.select_related("statement__bank_account", "customer"), pk=pk)
    search = request.GET.get("q", "").strip()[:60]
    customer_id = request.GET.get("customer") or request.POST.get("customer") or line.customer_id
    customer_id = int(customer_id) if str(customer_id or "").isdigit() else None
    invoices = _chosen_invoices(request) if request.method == "POST" else []
    parts, problems = _parts_from(request.POST, invoices) if request.method == "POST" else ([], [])
    applied = sum((cash for _, cash, _, _, _ in parts), ZERO)
    remainder = line.amount - applied
    if applied > line.amount:
        problems.append(f"The invoices take {applied}, the line brings {line.amount}")
    action = request.POST.get("action", "")
    if request.method == "POST" and action in ("apply", "on_account", "ignore") and not problems:
        try:
            flow.apply_statement_line(
                line=line,
                customer_id=customer_id,
                parts=parts if action == "apply" else [],
                by=request.user,
                action=action if action != "on_account" else "on_account",
            )
        except DomainError as error:
            problems.append(str(error))
        else:
            what = {"apply": "applied", "on_account": "put on the customer's account", "ignore": "ignored"}[action]
            messages.success(request, f"Line #{line.pk} {what}. The payer's IBAN and name are remembered.")
            target = reverse("desk:cash_queue")
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    chosen = {invoice.pk for invoice in invoices}
    results = [
        item
        for item in selectors.open_items_search(
            text=search, customer_id=None if search else customer_id, currency=line.currency
        )
        if item.pk not in chosen
    ]
    context = {
        "line": line,
        "candidates": line.candidates,
        "rows": [
            {
                "invoice": invoice,
                "cash": request.POST.get(f"cash_{invoice.pk}", ""),
                "discount": request.POST.get(f"discount_{invoice.pk}", ""),
                "write_off": request.POST.get(f"write_off_{invoice.pk}", ""),
                "reason": request.POST.get(f"reason_{invoice.pk}", "small_difference"),
            }
            for invoice in invoices
        ],
        "results": results,
        "search": search,
        "customer_id": customer_id,
        "customer": Customer.objects.filter(pk=customer_id).first() if customer_id else None,
        "applied": applied,
        "remainder": remainder,
        "problems": problems,
        "decided": line.status in (StatementLine.Status.MATCHED, StatementLine.Status.IGNORED),
    }
    if request.htmx and request.htmx.target == "remainder-box":
        return render(request, "receivables/cash_line.html#remainder", context)
    if request.htmx and request.htmx.target == "allocation":
        return render(request, "receivables/cash_line.html#allocation", context)
    if request.htmx and request.htmx.target == "search-results":
        return render(request, "receivables/cash_line.html#search_results", context)
    return render(request, "receivables/cash_line.html", context, status=422 if problems else 200)


@roles.permission_required("receivables.add_payment")
def statement_upload(request):
    """Upload a statement file; a worker imports it while the page shows its progress."""
    accounts = BankAccount.objects.filter(is_active=True)
    problems = []
    if request.method == "POST":
        account = accounts.filter(pk=request.POST.get("bank_account") or 0).first()
        upload = request.FILES.get("file")
        if account is None:
            problems.append("Bank account: choose the account the statement is for.")
        if upload is None:
            problems.append("File: choose a camt.053, MT940, BAI2 or CSV file.")
        elif upload.size > MAX_FILE_BYTES:
            problems.append(f"File: {upload.size} bytes is over the {MAX_FILE_BYTES} byte limit.")
        if not problems:
            record = StatementUpload.objects.create(
                bank_account=account, file=upload, file_name=upload.name[:200], created_by=request.user
            )
            # robust: a broker that is down leaves the upload queued; requeue_stale_work retries it
            transaction.on_commit(lambda: tasks.import_statement_upload.delay(record.pk), robust=True)
            return redirect("desk:statement_upload_status", pk=record.pk)
    return render(
        request,
        "receivables/statement_upload.html",
        {"accounts": accounts, "problems": problems},
        status=422 if problems else 200,
    )


@roles.permission_required("receivables.add_payment")
def statement_upload_status(request, pk: int):
    upload = get_object_or_404(StatementUpload.objects.select_related("bank_account"), pk=pk)
    context = {
        "upload": upload,
        "finished": upload.status in (StatementUpload.Status.DONE, StatementUpload.Status.FAILED),
    }
    if request.htmx:
        return render(request, "receivables/statement_upload_status.html#progress", context)
    return render(request, "receivables/statement_upload_status.html", context)


@roles.permission_required("receivables.add_payment")
def manual_payment(request):
    """A check or cash received by hand, applied on the same allocation screen."""
    customer = Customer.objects.filter(
        account_number=(request.POST.get("customer_account") or request.GET.get("customer_account") or "").strip()
    ).first()
    invoices = list(selectors.open_items(customer).select_related("customer")) if customer else []
    problems, values = [], request.POST
    if request.method == "POST" and request.POST.get("action") == "record":
        try:
            amount = Decimal(request.POST.get("amount", "").replace(",", "."))
            if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            problems.append("Amount: enter the amount received, above zero, at most 2 decimals.")
            amount = ZERO
        try:
            value_date = datetime.date.fromisoformat(request.POST.get("value_date", ""))
        except ValueError:
            problems.append("Value date: enter the day the money was received (YYYY-MM-DD).")
            value_date = None
        method = request.POST.get("method")
        if method not in (Payment.Method.CHECK, Payment.Method.CASH, Payment.Method.CARD, Payment.Method.TRANSFER):
            problems.append("Method: choose check, cash, card or transfer.")
        if customer is None:
            problems.append("Customer: enter an existing account number.")
        parts, part_problems = _parts_from(request.POST, invoices)
        problems += part_problems
        if sum((p[1] for p in parts), ZERO) > amount:
            problems.append(f"The invoices take more than the {amount} received.")
        if not problems:
            by_id = {invoice.pk: invoice for invoice in invoices}
            try:
                payment = flow.receive_manual_payment(
                    customer=customer,
                    amount=amount,
                    value_date=value_date,
                    method=method,
                    reference=request.POST.get("reference", "")[:140],
                    parts=[(by_id[i], c, d, w, r) for i, c, d, w, r in parts],
                    by=request.user,
                    idempotency_key=request.POST.get("idempotency_key") or None,
                )
            except DomainError as error:
                problems.append(str(error))
            else:
                messages.success(
                    request,
                    f"Payment #{payment.pk} of {payment.amount} {payment.currency} recorded; "
                    f"{payment.amount_applied} applied, {payment.amount_unapplied} on account.",
                )
                return redirect("desk:cash_queue")
    context = {
        "customer": customer,
        "invoices": invoices,
        "values": values,
        "problems": problems,
        "methods": [(value, label) for value, label in Payment.Method.choices if value != Payment.Method.DIRECT_DEBIT],
        "today": timezone.localdate(),
        "idempotency_key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
    }
    return render(request, "receivables/manual_payment.html", context, status=422 if problems else 200)
