"""The customer portal. Every view is wrapped in portal_view (login, portal permission, the
right it needs) and reaches data only through portal.scoping.scoped(), so another customer's
id is a 404 like any unknown one."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from fulfillment import carriers
from fulfillment.models import Shipment
from invoicing.models import Invoice, InvoiceDocument
from invoicing.references import format_rf, rf_reference
from o2c import flow
from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from orders.models import SalesOrder
from orders.services import LineInput
from receivables import dispute_selectors
from receivables import selectors as receivables
from receivables.models import Allocation, Payment

from . import documents, links, payments, selectors, services
from .forms import (
    ChangeRequestForm,
    DeliveryPreferenceForm,
    InviteForm,
    MemberForm,
    StatementForm,
)
from .models import ChangeRequest, InvoiceDeliveryPreference, PaymentIntent, PortalAccess
from .scoping import access_for, customer_for, has_right, portal_view, scoped

INVOICE_ORDER = ("-issue_date", "-id")
ORDER_ORDER = ("-order_date", "-id")
RECENT = 5
PAY_PAGE_LIMIT = 200


def _issued(request):
    return scoped(Invoice.objects.exclude(status=Invoice.Status.DRAFT), request)


def _mark_overdue(invoices, today):
    for invoice in invoices:
        invoice.is_overdue = (
            invoice.status == Invoice.Status.ISSUED and invoice.due_date is not None and invoice.due_date < today
        )


def _with_tracking(shipments) -> list:
    shipments = list(shipments)
    for shipment in shipments:
        shipment.tracking_url = carriers.tracking_link(shipment)
    return shipments


# --- home -------------------------------------------------------------------------------------------
@portal_view()
def home(request):
    """The customer's account: what they owe and when, their invoices (with PDFs), recent
    orders and deliveries."""
    today = timezone.localdate()
    customer = customer_for(request)
    invoices = _issued(request)
    page = keyset_page(request, receivables.with_pdf_flag(invoices), order=INVOICE_ORDER)
    _mark_overdue(page.rows, today)
    context = {
        "customer": customer,
        "balance": receivables.balance_of(invoices, on=today),
        "page": page,
        "orders": scoped(SalesOrder.objects.exclude(status=SalesOrder.Status.DRAFT), request).order_by(*ORDER_ORDER)[
            :10
        ],
        "next_due": selectors.next_due(customer),
        "deliveries": _with_tracking(selectors.recent_deliveries(customer)),
        "today": today,
        "can_pay": has_right(request, "pay"),
        "unread_messages": dispute_selectors.unread_for_customer(customer.pk),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "portal/home.html#invoices", context)
    return render(request, "portal/home.html", context)


# --- invoices and credit notes ----------------------------------------------------------------------
@portal_view()
def invoices(request):
    """Invoices and credit notes, filtered by GET parameters (status, kind, number)."""
    today = timezone.localdate()
    filters = {key: request.GET.get(key, "") for key in ("status", "kind", "number")}
    rows = selectors.invoices_filtered(_issued(request), on=today, **filters)
    page = keyset_page(request, receivables.with_pdf_flag(rows), order=INVOICE_ORDER)
    _mark_overdue(page.rows, today)
    context = {"page": page, "filters": filters, "kinds": Invoice.Kind.choices, "can_pay": has_right(request, "pay")}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "portal/invoices.html#results", context)
    return render(request, "portal/invoices.html", context)


@portal_view()
def invoice_detail(request, invoice_id: int):
    invoice = get_object_or_404(_issued(request).select_related("order", "credited_invoice"), pk=invoice_id)
    _mark_overdue([invoice], timezone.localdate())
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "allocations": Allocation.objects.filter(invoice=invoice).select_related("payment"),
            "documents": InvoiceDocument.objects.filter(invoice=invoice).order_by("kind"),
            "credit_notes": _issued(request).filter(credited_invoice=invoice),
            "rf": format_rf(rf_reference(invoice.number)),
            "can_pay": has_right(request, "pay")
            and invoice.status == Invoice.Status.ISSUED
            and invoice.amount_open > 0,
            "can_dispute": has_right(request, "dispute")
            and invoice.kind == Invoice.Kind.INVOICE
            and invoice.status == Invoice.Status.ISSUED
            and invoice.amount_open > 0,
            "disputes": scoped(invoice.disputes.all(), request),
        },
    )


def _document_response(document: InvoiceDocument) -> FileResponse:
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("This document is being prepared.") from error
    extension = {"pdf": "pdf"}.get(document.kind, document.file.name.rsplit(".", 1)[-1])
    content_type = "application/pdf" if extension == "pdf" else "application/xml"
    return FileResponse(
        handle, as_attachment=True, filename=f"{document.invoice.number}.{extension}", content_type=content_type
    )


@portal_view()
def invoice_pdf(request, invoice_id: int):
    """The stored PDF of one of the customer's own invoices. Another customer's invoice, a
    draft, or a PDF not rendered yet is a 404."""
    return invoice_document(request, invoice_id=invoice_id, kind=InvoiceDocument.Kind.PDF)


@portal_view()
def invoice_document(request, invoice_id: int, kind: str):
    """Any stored document of an invoice (PDF, and UBL / Factur-X when invoicing stores them)."""
    document = get_object_or_404(
        scoped(InvoiceDocument.objects.select_related("invoice"), request, via="invoice__customer").exclude(
            invoice__status=Invoice.Status.DRAFT
        ),
        invoice_id=invoice_id,
        kind=kind,
    )
    return _document_response(document)


@portal_view()
def statement(request):
    """Statement of account for a period: on the page, or as a PDF with ?format=pdf."""
    customer = customer_for(request)
    form = StatementForm(request.GET or None, initial=StatementForm.initial_period())
    period = form.cleaned_data if form.is_bound and form.is_valid() else None
    if period is None and not form.is_bound:
        period = StatementForm.initial_period()
    result = selectors.statement(customer, start=period["start"], end=period["end"]) if period else None
    if result is not None and request.GET.get("format") == "pdf":
        response = HttpResponse(documents.statement_pdf(result), content_type="application/pdf")
        filename = f"statement-{customer.account_number}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return render(request, "portal/statement.html", {"form": form, "statement": result, "customer": customer})


@portal_view()
def payments_history(request):
    """Payments received from the customer (with the invoices each paid) and online payments."""
    rows = scoped(Payment.objects.exclude(status=Payment.Status.REVERSED), request)
    page = keyset_page(request, rows, order=("-value_date", "-id"))
    allocations = Allocation.objects.filter(payment__in=[p.pk for p in page.rows]).select_related("invoice")
    by_payment: dict[int, list] = {}
    for allocation in allocations:
        by_payment.setdefault(allocation.payment_id, []).append(allocation)
    for payment in page.rows:
        payment.applied_to = by_payment.get(payment.pk, [])
    intents = scoped(PaymentIntent.objects.exclude(status=PaymentIntent.Status.SUCCEEDED), request)[:10]
    return render(request, "portal/payments.html", {"page": page, "intents": intents})


# --- orders ----------------------------------------------------------------------------------------
@portal_view()
def orders(request):
    rows = scoped(SalesOrder.objects.exclude(status=SalesOrder.Status.DRAFT), request)
    status = request.GET.get("status", "")
    if status in SalesOrder.Status.values:
        rows = rows.filter(status=status)
    page = keyset_page(request, rows, order=ORDER_ORDER)
    context = {
        "page": page,
        "status": status,
        "statuses": SalesOrder.Status.choices,
        "can_order": has_right(request, "order"),
    }
    return render(request, "portal/orders.html", context)


@portal_view()
def order_detail(request, order_id: int):
    order = get_object_or_404(scoped(SalesOrder.objects.exclude(status=SalesOrder.Status.DRAFT), request), pk=order_id)
    shipments = list(
        scoped(Shipment.objects.filter(lines__order_line__order=order).select_related("carrier"), request)
        .distinct()
        .order_by("created_at")
    )
    for shipment in shipments:
        shipment.tracking_url = carriers.tracking_link(shipment)
    return render(
        request,
        "portal/order_detail.html",
        {
            "order": order,
            "lines": order.lines.select_related("product"),
            "shipments": shipments,
            "invoices": _issued(request).filter(order=order),
            # what the customer may see of the story: no credit reasons or staff notes
            "events": [
                e
                for e in timeline.events_for(order.trail)
                if e.verb
                in {
                    "created",
                    "submitted",
                    "approved",
                    "credit_hold",
                    "rejected",
                    "shipped",
                    "completed",
                    "paid_online",
                }
            ],
            "can_order": has_right(request, "order"),
        },
    )


@portal_view("order")
def order_new(request):
    """Order from the customer's catalogue at its prices; a reorder (?reorder=<order id>)
    starts from the quantities of an earlier order. Submitting goes through the same flow as
    a clerk's order (credit check included), with channel "portal"."""
    customer = customer_for(request)
    products = list(selectors.catalogue(customer))
    quantities: dict[str, str] = {}
    reorder = request.GET.get("reorder", "")
    if request.method == "GET" and reorder.isdigit():
        earlier = get_object_or_404(scoped(SalesOrder.objects.all(), request), pk=int(reorder))
        quantities = {
            line.product.sku: f"{line.quantity.normalize():f}" for line in earlier.lines.select_related("product")
        }
    customer_po = ""
    problems = []
    if request.method == "POST":
        customer_po = request.POST.get("customer_po", "").strip()[:50]
        quantities = {p.sku: request.POST.get(f"qty-{p.sku}", "").strip() for p in products}
        lines = [LineInput(sku, quantity) for sku, quantity in quantities.items() if quantity not in ("", "0")]
        try:
            order = flow.submit_order(
                by=request.user,
                customer_account=customer.account_number,
                lines=lines,
                customer_po=customer_po,
                channel=SalesOrder.Channel.PORTAL,
            )
        except DomainError as error:
            problems = error.problems
            messages.error(request, f"{error.message} Check the quantities marked below.")
        else:
            if order.status == SalesOrder.Status.APPROVED:
                messages.success(request, f"Thank you: order {order.number} is confirmed and being prepared.")
            else:
                messages.warning(
                    request, f"Order {order.number} is received; we review it before shipping and will confirm."
                )
            return redirect("portal:order_detail", order_id=order.pk)
    rows = []
    line_of = {sku: index for index, sku in enumerate(sku for sku, q in quantities.items() if q not in ("", "0"))}
    errors = {}
    for where, _field, text in problems:
        if where.startswith("line "):
            errors[int(where.split()[1]) - 1] = text
    for product in products:
        index = line_of.get(product.sku)
        rows.append(
            {
                "product": product,
                "quantity": quantities.get(product.sku, ""),
                "error": errors.get(index, "") if index is not None else "",
            }
        )
    order_problems = [text for where, _field, text in problems if not where.startswith("line ")]
    return render(
        request,
        "portal/order_new.html",
        {"rows": rows, "customer": customer, "customer_po": customer_po, "order_problems": order_problems},
    )


# --- paying ----------------------------------------------------------------------------------------
@portal_view("pay")
def pay(request):
    """Choose one or several open invoices and a way to pay; starts a payment intent."""
    customer = customer_for(request)
    payable = scoped(
        Invoice.objects.filter(status=Invoice.Status.ISSUED, amount_open__gt=0, kind=Invoice.Kind.INVOICE), request
    ).only("number", "due_date", "amount_open", "currency", "status")
    chosen = [int(pk) for pk in request.POST.getlist("invoice") or request.GET.getlist("invoice") if pk.isdigit()]
    # the oldest due first, at most PAY_PAGE_LIMIT (a pay link or ?invoice= adds one further down)
    open_invoices = list(payable.order_by("due_date", "id")[:PAY_PAGE_LIMIT])
    shown = {invoice.pk for invoice in open_invoices}
    open_invoices += [i for i in payable.filter(pk__in=[pk for pk in chosen[:20] if pk not in shown])]
    _mark_overdue(open_invoices, timezone.localdate())
    provider_key = request.POST.get("provider", "")
    problems = []
    if request.method == "POST":
        try:
            provider = payments.get(provider_key)
            picked = list(scoped(Invoice.objects.filter(pk__in=chosen), request))
            if len(picked) != len(set(chosen)):
                raise Http404("No such invoice.")
            intent = services.start_payment(customer=customer, invoices=picked, provider=provider.key, by=request.user)
        except DomainError as error:
            problems = error.problems
            messages.error(request, str(error))
        else:
            return _start(request, provider, intent)
    return render(
        request,
        "portal/pay.html",
        {
            "customer": customer,
            "invoices": open_invoices,
            "chosen": set(chosen),
            "providers": payments.enabled(),
            "provider_key": provider_key or payments.enabled()[0].key,
            "problems": problems,
        },
        status=422 if problems else 200,
    )


def _start(request, provider, intent, *, token: str = ""):
    if token:
        page = reverse("portal:pay_link_payment", args=[token, intent.reference])
    else:
        page = reverse("portal:payment", args=[intent.reference])
    next_step = provider.start(intent, confirm_url=page)
    return redirect(next_step.redirect_url or page)


def _payment_page(request, intent: PaymentIntent, *, token: str = "", invoice=None):
    provider = payments.PROVIDERS.get(intent.provider)
    error = ""
    if request.method == "POST" and provider is not None:
        if not token and not has_right(request, "pay"):
            raise PermissionDenied("Your login may not pay; ask a colleague who manages users.")
        try:
            by = request.user if request.user.is_authenticated else None
            intent = provider.confirm(intent, request.POST, by=by)
        except DomainError as refusal:
            error = refusal.message
            intent.refresh_from_db()
        else:
            messages.success(request, f"Thank you: {intent.amount} {intent.currency} paid. The invoices show paid.")
            return redirect(request.path)
    context = {
        "intent": intent,
        "items": intent.items.select_related("invoice"),
        "provider": provider,
        "error": error,
        "token": token,
        "invoice": invoice,
    }
    if intent.status == PaymentIntent.Status.AWAITING_TRANSFER and provider is not None:
        context["next_step"] = provider.start(intent, confirm_url=request.path)
    template = "portal/pay_link_payment.html" if token else "portal/payment.html"
    return render(request, template, context, status=422 if error else 200)


@portal_view()
def payment(request, reference: str):
    """One online payment of the customer: the card form, the transfer instructions, or its outcome."""
    intent = get_object_or_404(scoped(PaymentIntent.objects.all(), request), reference=reference)
    return _payment_page(request, intent)


# --- pay links: no sign-in, one invoice ---------------------------------------------------------------
def _invoice_of_link(token: str):
    try:
        return links.invoice_from_token(token)
    except links.PayLinkRefused as refusal:
        raise PermissionDenied(str(refusal)) from refusal


def pay_link(request, token: str):
    """The pay page a signed link opens: this invoice only, no sign-in. An expired or altered
    link is refused (403) before anything is shown or paid."""
    invoice = _invoice_of_link(token)
    provider_key = request.POST.get("provider", "")
    error = ""
    if request.method == "POST":
        try:
            provider = payments.get(provider_key)
            intent = services.start_payment(
                customer=invoice.customer, invoices=[invoice], provider=provider.key, by=request.user, via_pay_link=True
            )
        except DomainError as refusal:
            error = str(refusal)
        else:
            return _start(request, provider, intent, token=token)
    return render(
        request,
        "portal/pay_link.html",
        {
            "invoice": invoice,
            "token": token,
            "providers": payments.enabled(),
            "rf": format_rf(rf_reference(invoice.number)),
            "error": error,
            "payable": invoice.status == Invoice.Status.ISSUED and invoice.amount_open > 0,
        },
        status=422 if error else 200,
    )


def pay_link_payment(request, token: str, reference: str):
    invoice = _invoice_of_link(token)
    intent = get_object_or_404(
        PaymentIntent.objects.filter(customer_id=invoice.customer_id, via_pay_link=True, items__invoice=invoice),
        reference=reference,
    )
    return _payment_page(request, intent, token=token, invoice=invoice)


# --- the customer's users -----------------------------------------------------------------------------
@portal_view("manage_users")
def users(request):
    """Colleagues with a portal login, their rights; invite a new one."""
    customer = customer_for(request)
    form = InviteForm(request.POST or None, initial={"can_order": True, "can_pay": True, "can_dispute": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            access = services.invite_user(
                customer=customer,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                rights=data,
                by=request.user,
            )
        except DomainError as error:
            for _where, field, text in error.problems:
                form.add_error(field if field in form.fields else None, text)
        else:
            messages.success(request, f"{access.user.email} is invited: we emailed a link to choose a password.")
            return redirect("portal:users")
    members = scoped(PortalAccess.objects.select_related("user"), request).order_by("user__email", "user__username")
    return render(request, "portal/users.html", {"members": members, "form": form}, status=422 if form.errors else 200)


@portal_view("manage_users")
def user_update(request, member_id: int):
    """Change a colleague's rights, or disable / enable their login (POST)."""
    access = get_object_or_404(scoped(PortalAccess.objects.select_related("user"), request), pk=member_id)
    if request.method != "POST":  # after the scoping: another customer's id is a 404 either way
        return HttpResponseNotAllowed(["POST"])
    form = MemberForm(request.POST)
    form.is_valid()  # booleans: every input is valid
    try:
        services.update_access(
            access=access, rights=form.cleaned_data, active=form.cleaned_data["active"], by=request.user
        )
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Saved: {access.user.get_username()}.")
    return redirect("portal:users")


# --- account ---------------------------------------------------------------------------------------
@portal_view()
def account(request):
    """The customer's details as we hold them; changes go to our staff as requests; invoice
    delivery preference (email or e-invoice)."""
    customer = customer_for(request)
    preference = InvoiceDeliveryPreference.objects.filter(customer=customer).first()
    change_form = ChangeRequestForm(prefix="change")
    preference_form = DeliveryPreferenceForm(prefix="delivery", instance=preference, initial={"email": customer.email})
    if request.method == "POST" and request.POST.get("form") == "change":
        change_form = ChangeRequestForm(request.POST, request.FILES, prefix="change")
        if change_form.is_valid():
            services.request_change(
                customer=customer,
                kind=change_form.cleaned_data["kind"],
                details=change_form.cleaned_data["details"],
                attachment=change_form.cleaned_data.get("attachment"),
                by=request.user,
            )
            messages.success(request, "Thank you: your request is sent to our team.")
            return redirect("portal:account")
    elif request.method == "POST" and request.POST.get("form") == "delivery":
        preference_form = DeliveryPreferenceForm(request.POST, prefix="delivery", instance=preference)
        if preference_form.is_valid():
            try:
                services.save_delivery_preference(customer=customer, by=request.user, **preference_form.cleaned_data)
            except DomainError as error:
                for _where, field, text in error.problems:
                    preference_form.add_error(field, text)
            else:
                messages.success(request, "Your invoice delivery preference is saved.")
                return redirect("portal:account")
    invalid = change_form.errors or preference_form.errors
    return render(
        request,
        "portal/account.html",
        {
            "customer": customer,
            "access": access_for(request),
            "change_form": change_form,
            "preference_form": preference_form,
            "requests": scoped(ChangeRequest.objects.all(), request)[:20],
        },
        status=422 if invalid else 200,
    )
