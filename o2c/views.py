"""The desk: pages that move a document from one stage to the next, so they sit at the top
layer and call o2c.flow. Read-only lists live in their own apps."""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from credit.forms import HoldDecisionForm
from fulfillment import selectors as fulfillment
from invoicing import services as invoicing_services
from invoicing import tasks as invoicing_tasks
from invoicing.forms import CreditNoteForm
from invoicing.models import Invoice
from o2c import flow
from o2c.core import roles, timeline
from o2c.core.errors import DomainError
from orders.forms import OrderHeaderForm, lines_from, without_blank_lines
from orders.models import Customer, SalesOrder
from orders.services import LineInput, check_customer, price_lines
from receivables.forms import PaymentForm
from receivables.models import Allocation

DEMO_LOGINS = [
    ("clerk", roles.ORDER_CLERK),
    ("credit", roles.CREDIT_MANAGER),
    ("warehouse", roles.WAREHOUSE),
    ("billing", roles.BILLING_CLERK),
    ("ar", roles.AR_CLERK),
    ("finance", roles.FINANCE_MANAGER),
    ("customer", roles.CUSTOMER),
    ("admin", "Admin"),
]


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["demo_logins"] = DEMO_LOGINS
        return context


@login_required
def home(request):
    """Each role lands on the few figures it acts on, each a link to the list behind it."""
    user = request.user
    if user.has_perm("portal.use_portal") and not user.is_staff:
        return redirect("portal:home")
    status_counts = dict(SalesOrder.objects.values_list("status").annotate(n=Count("id")).order_by())
    cards = []
    if user.has_perm("orders.view_salesorder"):
        cards.append(
            {
                "title": "Orders in progress",
                "value": status_counts.get("approved", 0),
                "hint": "approved, not completed",
                "url": reverse("orders:list") + "?status=approved",
            }
        )
    if user.has_perm("credit.decide_credit_hold"):
        cards.append(
            {
                "title": "On credit hold",
                "value": status_counts.get("credit_hold", 0),
                "hint": "waiting for your decision",
                "url": reverse("credit:holds"),
            }
        )
    if user.has_perm("fulfillment.ship_order"):
        cards.append(
            {
                "title": "Ready to ship",
                "value": fulfillment.orders_ready_to_ship().count(),
                "hint": "reserved stock waiting",
                "url": reverse("fulfillment:to_ship"),
            }
        )
    if user.has_perm("invoicing.view_invoice"):
        today = timezone.localdate()
        open_items = Invoice.objects.filter(status=Invoice.Status.ISSUED).aggregate(
            n=Count("id"), overdue=Count("id", filter=Q(due_date__lt=today))
        )
        cards.append(
            {
                "title": "Open invoices",
                "value": open_items["n"],
                "hint": f"{open_items['overdue']} overdue",
                "url": reverse("invoicing:list"),
            }
        )
    return render(request, "home.html", {"cards": cards})


# Order entry -----------------------------------------------------------------------------------
@roles.permission_required("orders.add_salesorder")
def order_new(request):
    """One page: header, lines added and removed inline, live totals and stock, then submit.
    A refused order comes back with every problem beside its field and nothing saved."""
    data = request.POST if request.method == "POST" else None
    form = OrderHeaderForm(data)
    lines = lines_from(request.POST) if data else lines_from(request.GET)
    action = request.POST.get("action", "")
    if action == "add":
        lines.append(LineInput("", "1"))
    elif action.startswith("remove:"):
        index = int(action.split(":")[1]) if action.split(":")[1].isdigit() else -1
        if 0 <= index < len(lines):
            del lines[index]
    problems = []
    if action == "submit":
        if form.is_valid():
            try:
                order = flow.submit_order(by=request.user, lines=without_blank_lines(lines), **form.cleaned_data)
            except DomainError as error:
                problems = error.problems
                messages.error(request, error.message + " Fix the fields marked below.")
            else:
                _tell_credit_outcome(request, order)
                return redirect("desk:order_detail", pk=order.pk)
        else:
            messages.error(request, "The order was not saved. Fix the fields marked below.")
    context = {"form": form, **_order_preview(form.data.get("customer_account", ""), lines, problems)}
    if request.htmx and action != "submit":
        return render(request, "o2c/order_new.html#lines", context)
    return render(request, "o2c/order_new.html", context)


def _order_preview(customer_account: str, lines: list[LineInput], submit_problems: list) -> dict:
    customer = Customer.objects.filter(account_number=customer_account.strip()).first() if customer_account else None
    typed = [line for line in lines if line.sku.strip()]
    priced, problems = price_lines(customer=customer, lines=typed) if typed else ([], [])
    priced_by_sku = {p.product.sku: p for p in priced if p}
    available = fulfillment.available_by_product([p.product.pk for p in priced_by_sku.values()])
    # Problems from submit name lines among the typed ones; map them back to the rows shown.
    row_of_typed = [index for index, line in enumerate(lines) if line.sku.strip()]
    errors: dict[int, dict[str, str]] = {}
    for where, field, text in submit_problems or problems:
        if where.startswith("line "):
            row = row_of_typed[int(where.split()[1]) - 1]
            errors.setdefault(row, {})[field] = text
    rows = []
    for index, line in enumerate(lines):
        p = priced_by_sku.get(line.sku.strip())
        stock = available.get(p.product.pk) if p else None
        rows.append(
            {
                "index": index,
                "sku": line.sku,
                "quantity": line.quantity,
                "priced": p,
                "errors": errors.get(index, {}),
                "available": stock,
                "tracked": p.product.is_stock_tracked if p else False,
                "short": bool(p and p.product.is_stock_tracked and stock is not None and stock < p.quantity),
            }
        )
    valid = [p for p in priced if p]
    order_problems = [text for where, field, text in submit_problems if where == "order" and field != "customer"]
    customer_problems = (
        [
            text
            for where, field, text in (submit_problems or check_customer(customer, customer_account))
            if field == "customer"
        ]
        if customer_account
        else []
    )
    return {
        "rows": rows,
        "customer": customer,
        "customer_problems": customer_problems,
        "order_problems": order_problems,
        "net": sum((p.net_amount for p in valid), Decimal("0")),
        "tax": sum((p.tax_amount for p in valid), Decimal("0")),
        "total": sum((p.total for p in valid), Decimal("0")),
        "currency": customer.currency if customer else "EUR",
    }


def _tell_credit_outcome(request, order: SalesOrder) -> None:
    if order.status == SalesOrder.Status.APPROVED:
        messages.success(request, f"Order {order.number} submitted and approved: within credit, stock reserved.")
    else:
        messages.warning(request, f"Order {order.number} submitted and put on credit hold; a credit manager decides.")


# The order page: every stage of one order ------------------------------------------------------
@roles.permission_required("orders.view_salesorder")
def order_detail(request, pk: int):
    order = get_object_or_404(SalesOrder.objects.select_related("customer", "created_by"), pk=pk)
    return render(request, "o2c/order_detail.html", _order_context(order, request.user))


def _order_context(order: SalesOrder, user, **extra) -> dict:
    lines = list(order.lines.select_related("product"))
    shipped = fulfillment.shipped_quantities(order)
    reserved = fulfillment.reserved_quantities(order)
    invoices = list(order.invoices.exclude(status=Invoice.Status.DRAFT).prefetch_related("documents"))
    allocations = Allocation.objects.filter(invoice__in=invoices).select_related("payment", "invoice")
    for line in lines:
        line.shipped = shipped.get(line.pk, Decimal("0"))
        line.reserved = reserved.get(line.pk, Decimal("0"))
    total_quantity = sum((line.quantity for line in lines), Decimal("0")) or Decimal("1")
    credited = sum((i.total for i in invoices if i.is_credit_note), Decimal("0"))
    invoiced = sum((i.total for i in invoices if not i.is_credit_note), Decimal("0")) - credited
    paid = sum((i.amount_paid for i in invoices if not i.is_credit_note), Decimal("0")) - credited
    return {
        "order": order,
        "lines": lines,
        "progress": [
            ("Shipped", _percent(sum((line.shipped for line in lines), Decimal("0")), total_quantity)),
            ("Invoiced", _percent(invoiced, order.total)),
            ("Paid", _percent(paid, order.total)),
        ],
        "decisions": order.credit_decisions.select_related("decided_by"),
        "shipments": fulfillment.shipments_for_order(order),
        "invoices": invoices,
        "allocations": allocations,
        "events": timeline.events_for(order.trail),
        "can_decide": user.has_perm("credit.decide_credit_hold") and order.status == SalesOrder.Status.CREDIT_HOLD,
        "can_ship": user.has_perm("fulfillment.ship_order")
        and order.status == SalesOrder.Status.APPROVED
        and any(
            line.reserved or (not line.product.is_stock_tracked and line.shipped < line.quantity) for line in lines
        ),
        "decision_form": extra.get("decision_form") or HoldDecisionForm(),
    }


def _percent(part: Decimal, whole: Decimal) -> int:
    return int(min(part / whole * 100, 100)) if whole else 0


@roles.permission_required("credit.decide_credit_hold")
def credit_decision(request, pk: int):
    order = get_object_or_404(SalesOrder.objects.select_related("customer"), pk=pk)
    if request.method != "POST":
        return redirect("desk:order_detail", pk=pk)
    form = HoldDecisionForm(request.POST)
    if form.is_valid():
        release = form.cleaned_data["decision"] == "release"
        try:
            order = flow.decide_credit_hold(
                order=order, release=release, reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            verb = "released: stock reserved" if release else "rejected"
            messages.success(request, f"Order {order.number} {verb}.")
            if request.htmx and request.POST.get("from") == "queue":
                return render(request, "credit/holds.html#decided", {"order": order})
        return _back(request, pk)
    if request.htmx and request.POST.get("from") == "queue":
        return render(request, "credit/holds.html#decision_form", {"order": order, "form": form})
    messages.error(request, "Choose release or reject and give the reason.")
    return render(request, "o2c/order_detail.html", _order_context(order, request.user, decision_form=form), status=422)


@roles.permission_required("fulfillment.ship_order")
def ship_order(request, pk: int):
    order = get_object_or_404(SalesOrder, pk=pk)
    if request.method != "POST":
        return redirect("desk:order_detail", pk=pk)
    try:
        invoice = flow.ship(
            order=order,
            by=request.user,
            carrier=request.POST.get("carrier", "").strip()[:60],
            tracking_number=request.POST.get("tracking_number", "").strip()[:60],
        )
    except DomainError as error:
        messages.error(request, str(error))
    else:
        if invoice is None:  # billed up front, or in the customer's weekly/monthly run
            messages.success(request, f"Order {order.number} shipped; it is billed by the customer's billing rule.")
        else:
            messages.success(
                request,
                f"Order {order.number} shipped and invoice {invoice.number} issued "
                f"({invoice.total} {invoice.currency}); its PDF is being rendered.",
            )
    return _back(request, pk)


def _back(request, pk: int):
    target = request.POST.get("next") or reverse("desk:order_detail", args=[pk])
    if not target.startswith("/"):
        target = reverse("desk:order_detail", args=[pk])
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


# Invoice page: the document, its PDF, and cash applied to it -----------------------------------
@roles.permission_required("invoicing.view_invoice")
def invoice_detail(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "order", "shipment"), pk=pk)
    if request.htmx and request.GET.get("part") == "pdf":
        return render(request, "o2c/invoice_detail.html#pdf", {"invoice": invoice, "pdf": _pdf_of(invoice)})
    return render(request, "o2c/invoice_detail.html", _invoice_context(invoice, PaymentForm.for_invoice(invoice)))


def _pdf_of(invoice: Invoice):
    return invoice.documents.filter(kind="pdf").first()


def _invoice_context(invoice: Invoice, payment_form, credit_form=None) -> dict:
    return {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "pdf": _pdf_of(invoice),
        "allocations": invoice.allocations.select_related("payment", "created_by"),
        "payment_form": payment_form,
        **_billing_context(invoice, credit_form),
    }


@roles.permission_required("receivables.add_payment")
def record_payment(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "order"), pk=pk)
    if request.method != "POST":
        return redirect("desk:invoice_detail", pk=pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            payment = flow.receive_payment(invoice=invoice, by=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error))
            if invoice.status != Invoice.Status.ISSUED:  # the page shows no form to carry the error
                messages.error(request, str(error))
        else:
            invoice.refresh_from_db()
            left = (
                "paid in full"
                if invoice.status == Invoice.Status.PAID
                else f"{invoice.amount_open} {invoice.currency} still open"
            )
            messages.success(
                request,
                f"Payment of {payment.amount} {payment.currency} recorded and applied; invoice {invoice.number} {left}.",
            )
            if invoice.order_id and invoice.order.status == SalesOrder.Status.COMPLETED:
                messages.success(request, f"Order {invoice.order.number} is completed.")
            target = reverse("desk:invoice_detail", args=[pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    context = _invoice_context(invoice, form)
    if request.htmx:
        return render(request, "o2c/invoice_detail.html#payment_form", context)
    return render(request, "o2c/invoice_detail.html", context, status=422)


# Billing: issue, send, credit notes, bulk actions ----------------------------------------------
def _billing_context(invoice: Invoice, credit_form=None) -> dict:
    return {
        "tax_lines": invoice.tax_lines.all(),
        "instalments": invoice.instalments.all(),
        "documents": {d.kind: d for d in invoice.documents.all()},
        "send_log": invoice.send_log.select_related("requested_by")[:50],
        "credit_notes": invoice.credit_notes.order_by("-id"),
        "credit_form": credit_form or CreditNoteForm(),
    }


@roles.permission_required("invoicing.issue_invoice")
def issue_draft(request, pk: int):
    """Issue one draft invoice or credit note through the flow (number, ledger, send)."""
    invoice = get_object_or_404(Invoice, pk=pk)
    if request.method == "POST":
        _issue(request, invoice)
    return redirect("desk:invoice_detail", pk=pk)


def _issue(request, invoice: Invoice) -> Invoice | None:
    try:
        if invoice.is_credit_note:
            issued = flow.issue_credit_note(note=invoice, by=request.user)
        else:
            issued = flow.issue_and_post(invoice=invoice, by=request.user)
    except DomainError as error:
        messages.error(request, f"{invoice}: {error}")
        return None
    messages.success(request, f"{issued.number} issued and posted; it is sent to the customer once rendered.")
    return issued


@roles.permission_required("invoicing.issue_invoice")
def resend_invoice(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    if request.method == "POST":
        try:
            logs = flow.resend(invoice=invoice, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            sent_to = ", ".join(f"{log.get_channel_display().lower()} {log.recipient}" for log in logs)
            messages.success(request, f"{invoice.number} queued for sending: {sent_to}.")
    return redirect("desk:invoice_detail", pk=pk)


@roles.permission_required("invoicing.issue_invoice")
def credit_note_new(request, pk: int):
    """Credit an issued invoice, in full or by an amount: the credit note is drafted and
    issued in one transaction, or nothing is saved and the form says why."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "order", "shipment"), pk=pk)
    if request.method != "POST":
        return redirect("desk:invoice_detail", pk=pk)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                if data["full"]:
                    lines = [(line, line.quantity) for line in invoice.lines.all()]
                    note = invoicing_services.propose_credit_note(
                        invoice=invoice, lines=lines, reason=data["reason"], by=request.user
                    )
                else:
                    note = invoicing_services.propose_credit_note_for_amount(
                        invoice=invoice, amount=data["amount"], reason=data["reason"], by=request.user
                    )
                note = flow.issue_credit_note(note=note, by=request.user)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Credit note {note.number} of {note.total} {note.currency} issued.")
            target = reverse("desk:invoice_detail", args=[pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    context = _invoice_context(invoice, PaymentForm.for_invoice(invoice), credit_form=form)
    if request.htmx:
        return render(request, "o2c/invoice_detail.html#credit_form", context)
    return render(request, "o2c/invoice_detail.html", context, status=422)


@roles.permission_required("invoicing.view_invoice")
def invoice_bulk(request):
    """Ticked invoices: issue (drafts), send again, or download their PDFs as a zip built by
    a worker (the page shows its progress)."""
    if request.method != "POST":
        return redirect("invoicing:list")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:500]
    action = request.POST.get("action", "")
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("invoicing:list")
    if not ids:
        messages.error(request, "Tick at least one invoice first.")
        return redirect(back)
    if action in {"issue", "send"} and not request.user.has_perm("invoicing.issue_invoice"):
        messages.error(request, "Only a billing clerk can issue or send invoices.")
        return redirect(back)
    if action == "issue":
        issued = [i for i in Invoice.objects.filter(pk__in=ids, status=Invoice.Status.DRAFT) if _issue(request, i)]
        messages.info(request, f"{len(issued)} of {len(ids)} issued.")
    elif action == "send":
        count = 0
        for invoice in Invoice.objects.filter(pk__in=ids).exclude(status=Invoice.Status.DRAFT):
            flow.resend(invoice=invoice, by=request.user)
            count += 1
        messages.success(request, f"{count} invoice(s) queued for sending.")
    elif action == "zip":
        try:
            bundle = invoicing_services.request_bundle(invoice_ids=ids, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
            return redirect(back)
        bundle_id = bundle.pk
        transaction.on_commit(lambda: invoicing_tasks.build_document_bundle.delay(bundle_id))
        return redirect("invoicing:bundle", pk=bundle.pk)
    else:
        messages.error(request, "Choose an action: issue, send or download.")
    return redirect(back)
