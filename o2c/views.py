"""The desk: pages that move a document from one stage to the next, so they sit at the top
layer and call o2c.flow. Read-only lists live in their own apps."""

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from credit import selectors as credit_selectors
from credit.forms import ApplicationDecisionForm, HoldDecisionForm
from credit.models import CreditApplication
from fulfillment import selectors as fulfillment
from fulfillment import services as fulfillment_services
from fulfillment import views as fulfillment_views
from fulfillment.forms import ProofOfDeliveryForm, ReceiveForm, ShipForm, line_deliveries
from fulfillment.models import ExpectedReceipt, ReturnAuthorisation, Shipment, Warehouse
from invoicing import services as invoicing_services
from invoicing import tasks as invoicing_tasks
from invoicing.forms import CreditNoteForm
from invoicing.models import Invoice, InvoiceLine
from o2c import flow
from o2c.core import roles, timeline
from o2c.core.errors import DomainError
from orders import selectors as order_selectors
from orders import services as order_services
from orders.forms import OrderHeaderForm, lines_from, without_blank_lines
from orders.models import Address, Customer, Product, SalesOrder
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


def _at_most(count: int, cap: int) -> int | str:
    return f"{cap}+" if count > cap else count


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
                "value": _at_most(fulfillment.count_ready_to_ship(up_to=1000), 1000),
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
    """One page: header, lines added and removed inline, live totals and stock, then submit
    (or save as a draft). A refused order comes back with every problem beside its field and
    nothing saved."""
    return _order_entry(request, draft=None)


@roles.permission_required("orders.add_salesorder")
def order_edit(request, pk: int):
    """The same page for a saved draft: change it, save it again, or submit it."""
    draft = get_object_or_404(SalesOrder.objects.select_related("customer"), pk=pk)
    if draft.status != SalesOrder.Status.DRAFT:
        messages.error(request, f"Order {draft} is {draft.get_status_display().lower()}; only drafts can be edited.")
        return redirect("desk:order_detail", pk=pk)
    return _order_entry(request, draft=draft)


def _order_entry(request, *, draft: SalesOrder | None):
    data = request.POST if request.method == "POST" else None
    form = OrderHeaderForm(data, initial=_draft_initial(draft) if draft else None)
    if draft is not None:
        form.fields["customer_account"].disabled = True  # a draft keeps its customer
    if data:
        lines = lines_from(request.POST)
    elif draft is not None:
        lines = [
            LineInput(
                line.product.sku,
                f"{line.quantity.normalize():f}",
                unit_price=line.list_price if line.price_source == "override" else "",
                discount_percent=f"{line.discount_percent.normalize():f}" if line.discount_percent else "",
                override_reason=line.override_reason,
            )
            for line in draft.lines.select_related("product")
        ]
    else:
        lines = lines_from(request.GET)
    action = request.POST.get("action", "")
    if action == "add":
        lines.append(LineInput("", "1"))
    elif action.startswith("remove:"):
        index = int(action.split(":")[1]) if action.split(":")[1].isdigit() else -1
        if 0 <= index < len(lines):
            del lines[index]
    account = draft.customer.account_number if draft else form.data.get("customer_account", "")
    customer = Customer.objects.filter(account_number=account.strip()).first() if account else None
    ship_to_id = (request.POST.get("ship_to") if data else (draft.ship_to_id if draft else "")) or ""
    problems = []
    entry_key = (request.POST.get("entry_key") or "")[:64] or uuid.uuid4().hex
    if action in ("submit", "draft") and draft is None:
        already = SalesOrder.objects.filter(entry_key=entry_key).first()
        if already:  # a double click or a retried POST: the first one saved it
            messages.info(request, f"This order was already saved as {already}; it was not saved twice.")
            return redirect("desk:order_detail", pk=already.pk)
    if action in ("submit", "draft"):
        if form.is_valid():
            fields = {name: value for name, value in form.cleaned_data.items() if name != "customer_account"}
            ship_to = _ship_to(customer, ship_to_id)
            try:
                order = _save_entry(
                    request, draft, customer, action, without_blank_lines(lines), fields, ship_to, entry_key
                )
            except _AlreadySaved as saved:
                messages.info(request, f"This order was already saved as {saved.order}; it was not saved twice.")
                return redirect("desk:order_detail", pk=saved.order.pk)
            except DomainError as error:
                problems = error.problems
                messages.error(request, error.message + " Fix the fields marked below.")
            else:
                if action == "draft":
                    messages.success(request, f"Draft saved ({order}); nothing is reserved until it is submitted.")
                else:
                    _tell_credit_outcome(request, order)
                return redirect("desk:order_detail", pk=order.pk)
        else:
            messages.error(request, "The order was not saved. Fix the fields marked below.")
    context = {
        "form": form,
        "draft": draft,
        "form_url": reverse("desk:order_edit", args=[draft.pk]) if draft else reverse("desk:order_new"),
        **_order_preview(account, lines, problems, by=request.user, promise_on=_date_or_today(form.data)),
        "ship_to_id": str(ship_to_id),
        "addresses": list(customer.addresses.filter(kind=Address.Kind.SHIPPING)) if customer else [],
        "po_orders": order_selectors.orders_with_po(customer, form.data.get("customer_po", ""), exclude=draft)
        if customer and data
        else [],
        "ship_to_problems": [text for where, field, text in problems if field == "ship_to"],
        "entry_key": entry_key,
    }
    if request.htmx and action not in ("submit", "draft"):
        return render(request, "o2c/order_new.html#lines", context)
    return render(request, "o2c/order_new.html", context)


def _draft_initial(draft: SalesOrder) -> dict:
    return {
        "customer_account": draft.customer.account_number,
        "customer_po": draft.customer_po,
        "requested_date": draft.requested_date,
        "notes": draft.notes,
        "channel": draft.channel,
    }


def _ship_to(customer, ship_to_id: str):
    if not customer or not str(ship_to_id).isdigit():
        return None
    return customer.addresses.filter(pk=int(ship_to_id)).first()


class _AlreadySaved(Exception):
    def __init__(self, order: SalesOrder):
        self.order = order


def _save_entry(request, draft, customer, action, lines, fields, ship_to, entry_key: str) -> SalesOrder:
    """Create or update the draft; on submit, move it on through the flow in the same step.
    A new order keeps the form's entry key (unique): of two racing posts of one form, the
    second rolls back whole (its number too) and shows the first."""
    account = customer.account_number if customer else request.POST.get("customer_account", "")
    if draft is None:
        try:
            with transaction.atomic():
                if action == "submit":
                    order = flow.submit_order(
                        by=request.user, customer_account=account, lines=lines, ship_to=ship_to, **fields
                    )
                else:
                    channel = fields.pop("channel", SalesOrder.Channel.CLERK)
                    order = order_services.create_order(
                        by=request.user,
                        customer_account=account,
                        lines=lines,
                        ship_to=ship_to,
                        channel=channel,
                        **fields,
                    )
                SalesOrder.objects.filter(pk=order.pk).update(entry_key=entry_key)
        except IntegrityError:
            first = SalesOrder.objects.filter(entry_key=entry_key).first()
            if first is None:
                raise
            raise _AlreadySaved(first) from None
        return order
    fields.pop("channel", None)  # a draft keeps its channel
    with transaction.atomic():
        order = order_services.update_draft(order=draft, by=request.user, lines=lines, ship_to=ship_to, **fields)
        return flow.submit_draft(order=order, by=request.user) if action == "submit" else order


def _date_or_today(data) -> datetime.date:
    """The requested delivery date typed so far (available-to-promise counts receipts due by
    then), or today when there is none yet or it is not a date."""
    try:
        return datetime.date.fromisoformat(data.get("requested_date") or "")
    except (TypeError, ValueError):
        return timezone.localdate()


def _order_preview(
    customer_account: str, lines: list[LineInput], submit_problems: list, by=None, promise_on=None
) -> dict:
    customer = Customer.objects.filter(account_number=customer_account.strip()).first() if customer_account else None
    typed = [line for line in lines if line.sku.strip()]
    priced, problems = price_lines(customer=customer, lines=typed, by=by) if typed else ([], [])
    row_of_typed = [index for index, line in enumerate(lines) if line.sku.strip()]
    priced_by_row = {row_of_typed[i]: p for i, p in enumerate(priced) if p}
    # available to promise: on hand - reserved + receipts expected by the requested date
    available = fulfillment.available_to_promise(
        {p.product.pk for p in priced_by_row.values()}, promise_on or timezone.localdate()
    )
    # Problems from submit name lines among the typed ones; map them back to the rows shown.
    errors: dict[int, dict[str, str]] = {}
    for where, field, text in submit_problems or problems:
        if where.startswith("line "):
            row = row_of_typed[int(where.split()[1]) - 1]
            errors.setdefault(row, {})[field] = text
    rows = []
    for index, line in enumerate(lines):
        p = priced_by_row.get(index)
        stock = available.get(p.product.pk) if p else None
        rows.append(
            {
                "index": index,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "override_reason": line.override_reason,
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
    order = get_object_or_404(
        SalesOrder.objects.select_related(
            "customer", "created_by", "ship_to", "payment_terms", "copied_from", "order_import"
        ),
        pk=pk,
    )
    return render(request, "o2c/order_detail.html", _order_context(order, request.user))


def _order_context(order: SalesOrder, user, **extra) -> dict:
    lines = list(order.lines.select_related("product"))
    shipped = fulfillment.shipped_quantities(order)
    reserved = fulfillment.reserved_quantities(order)
    invoices = list(order.invoices.exclude(status=Invoice.Status.DRAFT).prefetch_related("documents"))
    allocations = Allocation.objects.filter(invoice__in=invoices).select_related("payment", "invoice")
    invoiced_lines = (  # one query whether or not there are invoices: the page's count stays constant
        InvoiceLine.objects.filter(order_line__order=order, invoice__kind=Invoice.Kind.INVOICE)
        .exclude(invoice__status=Invoice.Status.DRAFT)
        .values_list("order_line_id", "invoice_id", "quantity", "net_amount", "tax_amount")
    )
    paid_share = {i.pk: (i.amount_paid / i.total if i.total else Decimal("0")) for i in invoices}
    invoiced_qty: dict[int, Decimal] = {}
    paid_amount: dict[int, Decimal] = {}
    for line_id, invoice_id, quantity, net, tax in invoiced_lines:
        invoiced_qty[line_id] = invoiced_qty.get(line_id, Decimal("0")) + quantity
        paid_amount[line_id] = paid_amount.get(line_id, Decimal("0")) + (net + tax) * paid_share.get(invoice_id, 0)
    for line in lines:
        line.shipped = shipped.get(line.pk, Decimal("0"))
        line.reserved = reserved.get(line.pk, Decimal("0"))
        line.invoiced = invoiced_qty.get(line.pk, Decimal("0"))
        line.progress = [
            ("Shipped", _percent(line.shipped, line.quantity)),
            ("Invoiced", _percent(line.invoiced, line.quantity)),
            ("Paid", _percent(paid_amount.get(line.pk, Decimal("0")), line.total)),
        ]
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
        "backorders": list(fulfillment.backorders_for(order)),
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
        "credit": credit_selectors.credit_panel(order) if user.has_perm("credit.view_creditprofile") else None,
        "can_edit": user.has_perm("orders.add_salesorder") and order.status == SalesOrder.Status.DRAFT,
        "can_cancel": user.has_perm("orders.add_salesorder")
        and order.status in (SalesOrder.Status.DRAFT, SalesOrder.Status.CREDIT_HOLD, SalesOrder.Status.APPROVED),
        "can_copy": user.has_perm("orders.add_salesorder"),
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
        arguments = form.flow_arguments()
        release = arguments["release"]
        try:
            order = flow.decide_credit_hold(order=order, by=request.user, **arguments)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            verb = "released: stock reserved" if release else "rejected: the clerk and the customer are told"
            if arguments["temporary_increase"]:
                verb += f" (limit raised by {arguments['temporary_increase']} until {arguments['temporary_until']:%d %b %Y})"
            messages.success(request, f"Order {order.number} {verb}.")
            if request.htmx and request.POST.get("from") == "queue":
                return render(request, "credit/holds.html#decided", {"order": order})
        return _back(request, pk)
    if request.htmx and request.POST.get("from") == "queue":
        return render(
            request,
            "credit/holds.html#decision_form",
            {
                "order": order,
                "form": form,
                "decide_url": reverse("desk:credit_decision", args=[order.pk]),
                "queue_url": reverse("credit:holds"),
            },
        )
    messages.error(request, "Choose release or reject and give the reason.")
    return render(request, "o2c/order_detail.html", _order_context(order, request.user, decision_form=form), status=422)


@roles.permission_required("credit.decide_creditapplication")
def credit_application_decision(request, pk: int):
    """A credit manager decides a credit application; the orders that waited on it follow."""
    application = get_object_or_404(CreditApplication.objects.select_related("customer"), pk=pk)
    if request.method != "POST":
        return redirect("credit:applications")
    form = ApplicationDecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        approve = data["decision"] == "approve"
        try:
            flow.decide_credit_application(
                application=application,
                approve=approve,
                by=request.user,
                note=data["note"],
                approved_limit=data.get("approved_limit"),
                approved_until=data.get("approved_until"),
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            outcome = "approved: its waiting orders were checked against the new limit" if approve else "rejected"
            messages.success(request, f"Credit application of {application.customer.name} {outcome}.")
    else:
        messages.error(
            request, "The application was not decided: " + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items())
        )
    return redirect("credit:applications")


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


@roles.permission_required("fulfillment.ship_order")
def ship_shipment(request, pk: int):
    """A packed shipment handed to the carrier: stock out, invoice issued (o2c.flow)."""
    shipment = get_object_or_404(Shipment, pk=pk)
    if request.method != "POST":
        return redirect("fulfillment:shipment", pk=pk)
    form = ShipForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invoice = flow.ship_shipment(
                shipment=shipment,
                by=request.user,
                carrier=data["carrier"] or fulfillment_services.carrier_named(data["new_carrier"]),
                service=data["service"],
                tracking_number=data["tracking_number"],
                ship_date=data["ship_date"],
                freight_terms=data["freight_terms"],
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Shipment {shipment.number} shipped and invoice {invoice.number} issued "
                f"({invoice.total} {invoice.currency}); the bill of lading is being printed.",
            )
            return redirect("fulfillment:shipment", pk=pk)
    messages.error(request, "The shipment did not leave. Fix the fields marked below.")
    context = fulfillment_views.shipment_context(fulfillment.shipment_detail(pk), ship_form=form)
    return render(request, "fulfillment/shipment.html", context, status=422)


@roles.permission_required("fulfillment.ship_order")
def record_delivery(request, pk: int):
    """Proof of delivery; shortfalls become credit note proposals (o2c.flow). A refused file
    or quantity comes back with the problem named, and nothing is stored."""
    shipment = fulfillment.shipment_detail(pk) if Shipment.objects.filter(pk=pk).exists() else None
    if shipment is None:
        raise Http404("No such shipment.")
    if request.method != "POST":
        return redirect("fulfillment:shipment", pk=pk)
    form = ProofOfDeliveryForm(request.POST, request.FILES)
    lines = fulfillment.shipment_lines(shipment)
    deliveries, problems = line_deliveries(request.POST, lines)
    if form.is_valid() and not problems:
        try:
            proof, notes = flow.record_delivery(
                shipment=shipment,
                signer_name=form.cleaned_data["signer_name"],
                signed_at=form.cleaned_data["signed_at"],
                lines=deliveries,
                upload=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except DomainError as error:
            problems = error.problems or [("proof of delivery", "", error.message)]
        else:
            text = f"Delivery of {shipment.number} recorded, signed by {proof.signer_name}."
            if notes:
                text += " Credit note proposed for the shortfall: " + ", ".join(
                    f"{n.total} {n.currency}" for n in notes
                )
            messages.success(request, text)
            return redirect("fulfillment:shipment", pk=pk)
    messages.error(request, "The proof of delivery was not recorded. Fix what is marked below.")
    context = fulfillment_views.shipment_context(shipment, pod_form=form, problems=problems)
    return render(request, "fulfillment/shipment.html", context, status=422)


@roles.permission_required("fulfillment.ship_order")
def receive_return(request, pk: int):
    """Returned goods into stock or scrap; a credit note proposed for them (o2c.flow)."""
    rma = get_object_or_404(ReturnAuthorisation, pk=pk)
    if request.method == "POST":
        received = {}
        for line in rma.lines.all():
            raw = (request.POST.get(f"received_{line.pk}") or "").strip()
            try:
                quantity = Decimal(raw or "0")
            except ArithmeticError:
                quantity = Decimal("-1")
            received[line.pk] = (quantity, request.POST.get(f"disposition_{line.pk}", ""))
        try:
            notes = flow.receive_return(rma=rma, received=received, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            proposed = ", ".join(f"{n.total} {n.currency}" for n in notes) or "nothing to credit"
            messages.success(request, f"Return {rma.number} received; credit note proposed: {proposed}.")
    return redirect("fulfillment:return", pk=pk)


@roles.permission_required("fulfillment.ship_order")
def receive_stock(request):
    """Goods in, scan-friendly: SKU and quantity, Enter. The receipt reserves for the orders
    waiting (backorders, oldest first) through o2c.flow; the open expected receipts are listed."""
    warehouses = list(Warehouse.objects.all())
    code = request.POST.get("warehouse") or request.GET.get("warehouse")
    warehouse = next((w for w in warehouses if w.code == code), warehouses[0] if warehouses else None)
    form = ReceiveForm(request.POST or None)
    status = 200
    if request.method == "POST" and warehouse and form.is_valid():
        product = Product.objects.filter(sku__iexact=form.cleaned_data["sku"].strip(), is_stock_tracked=True).first()
        if product is None:
            form.add_error("sku", "No stock-tracked product has this SKU.")
        else:
            receipt = (
                ExpectedReceipt.objects.filter(warehouse=warehouse, product=product, status="open")
                .order_by("expected_date", "id")
                .first()
            )
            waiting = fulfillment.backordered_quantity(product.pk)
            try:
                item = flow.receive_stock(
                    warehouse=warehouse,
                    product=product,
                    quantity=form.cleaned_data["quantity"],
                    by=request.user,
                    note=form.cleaned_data["reference"],
                    expected_receipt=receipt,
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                served = waiting - fulfillment.backordered_quantity(product.pk)
                messages.success(
                    request,
                    f"Received {form.cleaned_data['quantity'].normalize():f} {product.sku} in {warehouse.code}; "
                    f"{served.normalize():f} reserved for backorders; {item.available.normalize():f} available.",
                )
                target = reverse("desk:receive_stock") + f"?warehouse={warehouse.code}"
                return redirect(target)
    if request.method == "POST":
        status = 422
    expected = (
        ExpectedReceipt.objects.filter(status="open", warehouse=warehouse)
        .select_related("product")
        .order_by("expected_date", "id")[:100]
        if warehouse
        else []
    )
    context = {"form": form, "warehouses": warehouses, "warehouse": warehouse, "expected": expected}
    return render(request, "o2c/receive_stock.html", context, status=status)


def _back(request, pk: int):
    target = request.POST.get("next") or reverse("desk:order_detail", args=[pk])
    if not target.startswith("/"):
        target = reverse("desk:order_detail", args=[pk])
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


# Invoice page: the document, its PDF, and cash applied to it -----------------------------------
@roles.permission_required("invoicing.view_invoice")
def invoice_detail(request, pk: int):
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer", "order", "shipment").prefetch_related(_dunning_history()), pk=pk
    )
    if request.htmx and request.GET.get("part") == "pdf":
        return render(request, "o2c/invoice_detail.html#pdf", {"invoice": invoice, "pdf": _pdf_of(invoice)})
    return render(request, "o2c/invoice_detail.html", _invoice_context(invoice, PaymentForm.for_invoice(invoice)))


def _dunning_history() -> Prefetch:
    """What receivables/_dunning_history.html reads, in one query."""
    from receivables.models import DunningItem

    items = DunningItem.objects.select_related("level", "letter__run").order_by("letter__run__run_date", "id")
    return Prefetch("dunning_items", queryset=items)


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


# Draft orders: cancel with a reason, copy into a new draft ---------------------------------------
@roles.permission_required("orders.add_salesorder")
def order_cancel(request, pk: int):
    order = get_object_or_404(SalesOrder, pk=pk)
    if request.method != "POST":
        return redirect("desk:order_detail", pk=pk)
    try:
        order = flow.cancel_order(order=order, reason=request.POST.get("reason", ""), by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Order {order} cancelled.")
    return _back(request, pk)


@roles.permission_required("orders.add_salesorder")
def order_copy(request, pk: int):
    """Reorder: a new draft with the same customer, ship-to and lines, priced today."""
    order = get_object_or_404(SalesOrder, pk=pk)
    if request.method != "POST":
        return redirect("desk:order_detail", pk=pk)
    try:
        copy = order_services.copy_order(order=order, by=request.user)
    except DomainError as error:
        messages.error(request, f"The order could not be copied. {error}")
        return _back(request, pk)
    messages.success(request, f"New draft {copy} copied from {order}: check it and submit.")
    return redirect("desk:order_edit", pk=copy.pk)


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
