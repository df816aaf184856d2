"""Warehouse pages: pick queue by warehouse, shipment page (scan, pack; ship and POD post to the
desk, which calls the flow), documents, delivery exceptions, the clerk's backorder worklist,
returns, and the available-to-promise partial for order entry."""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django_htmx.http import HttpResponseClientRedirect

from o2c.core.errors import DomainError
from o2c.core.roles import permission_required
from orders.models import Product, SalesOrder

from . import carriers, selectors, services
from .forms import PackForm, ProofOfDeliveryForm, ScanForm, ShipForm
from .models import ReturnAuthorisation, Shipment, ShipmentDocument, Warehouse

QUEUE_LIMIT = 200


@permission_required("fulfillment.ship_order")
def to_ship(request):
    """Approved orders with stock reserved (or services to deliver), each shipped in place:
    the form posts to the desk, which ships, invoices and comes back here."""
    orders = selectors.shipping_queue(limit=QUEUE_LIMIT)
    return render(request, "fulfillment/to_ship.html", {"orders": orders, "limit": QUEUE_LIMIT})


# --- pick queue and shipments -------------------------------------------------------------------
def _warehouse_from(request) -> Warehouse | None:
    warehouses = list(Warehouse.objects.all())
    code = request.GET.get("warehouse") or request.POST.get("warehouse")
    chosen = next((w for w in warehouses if w.code == code), None) or (warehouses[0] if warehouses else None)
    request.warehouses = warehouses
    return chosen


@permission_required("fulfillment.ship_order")
def pick_queue(request):
    """Per warehouse: orders with reserved stock not yet on a shipment (tick several orders of
    one customer to ship them together) and the shipments being picked and packed."""
    warehouse = _warehouse_from(request)
    context = {"warehouses": request.warehouses, "warehouse": warehouse, "limit": QUEUE_LIMIT}
    if warehouse:
        context["orders"] = selectors.pick_queue(warehouse=warehouse, limit=QUEUE_LIMIT)
        context["shipments"] = selectors.open_shipments(warehouse=warehouse, limit=QUEUE_LIMIT)
    return render(request, "fulfillment/pick_queue.html", context)


@permission_required("fulfillment.ship_order")
def plan(request):
    if request.method != "POST":
        return redirect("fulfillment:pick_queue")
    warehouse = _warehouse_from(request)
    orders = list(SalesOrder.objects.filter(pk__in=[v for v in request.POST.getlist("order") if v.isdigit()]))
    try:
        shipment = services.plan_shipment(orders=orders, warehouse=warehouse, by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(f"{_url('fulfillment:pick_queue')}?warehouse={warehouse.code if warehouse else ''}")
    messages.success(request, f"Shipment {shipment.number} planned; its pick list is being printed.")
    return redirect("fulfillment:shipment", pk=shipment.pk)


def _url(name, *args):
    from django.urls import reverse

    return reverse(name, args=args)


def shipment_context(shipment: Shipment, **forms) -> dict:
    documents = {d.kind: d for d in shipment.documents.all()}
    return {
        "shipment": shipment,
        "lines": selectors.shipment_lines(shipment),
        "packages": list(shipment.packages.all()),
        "documents": [(kind, label, documents.get(kind)) for kind, label in ShipmentDocument.Kind.choices],
        "tracking_link": carriers.tracking_link(shipment),
        "proof": getattr(shipment, "proof_of_delivery", None),
        "scan_form": forms.get("scan_form") or ScanForm(),
        "pack_form": forms.get("pack_form") or PackForm(),
        "ship_form": forms.get("ship_form") or ShipForm(),
        "pod_form": forms.get("pod_form") or ProofOfDeliveryForm(),
        "discrepancy_kinds": [("short", "Short"), ("damaged", "Damaged"), ("refused", "Refused")],
        "problems": forms.get("problems", []),
    }


@permission_required("fulfillment.ship_order")
def shipment(request, pk: int):
    found = _shipment_or_404(pk)
    if request.htmx and request.GET.get("part") == "documents":
        return render(request, "fulfillment/shipment.html#documents", shipment_context(found))
    return render(request, "fulfillment/shipment.html", shipment_context(found))


def _shipment_or_404(pk: int) -> Shipment:
    try:
        return selectors.shipment_detail(pk)
    except Shipment.DoesNotExist:
        raise Http404("No such shipment.") from None


@permission_required("fulfillment.ship_order")
def scan(request, pk: int):
    """A scan: SKU (or bin barcode) and quantity; Enter submits, focus comes back to the code."""
    found = _shipment_or_404(pk)
    if request.method != "POST":
        return redirect("fulfillment:shipment", pk=pk)
    form = ScanForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            line = services.record_pick(
                shipment=found, code=form.cleaned_data["code"], quantity=form.cleaned_data["quantity"], by=request.user
            )
        except DomainError as error:
            for _where, field, text in error.problems or [("scan", "code", error.message)]:
                form.add_error(field if field in form.fields else None, text)
            status = 422
        else:
            messages.success(
                request,
                f"{line.order_line.product.sku}: {line.picked_quantity.normalize():f} of {line.quantity.normalize():f} picked.",
            )
            form = ScanForm()
    else:
        status = 422
    context = shipment_context(found, scan_form=form)
    if request.htmx:
        return render(request, "fulfillment/shipment.html#picking", context, status=status)
    return render(request, "fulfillment/shipment.html", context, status=status)


@permission_required("fulfillment.ship_order")
def finish_picking(request, pk: int):
    found = _shipment_or_404(pk)
    if request.method == "POST":
        try:
            action = request.POST.get("action")
            if action == "all":
                services.pick_all(shipment=found, by=request.user)
            else:
                services.finish_picking(shipment=found, by=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Shipment {found.number} picked; pack it next.")
    return _to_shipment(request, pk)


@permission_required("fulfillment.ship_order")
def pack(request, pk: int):
    found = _shipment_or_404(pk)
    if request.method != "POST":
        return redirect("fulfillment:shipment", pk=pk)
    form = PackForm(request.POST)
    if form.is_valid():
        try:
            services.pack(shipment=found, packages=form.packages(), by=request.user)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Shipment {found.number} packed; the packing slip is being printed.")
            return _to_shipment(request, pk)
    messages.error(request, "The packages were not recorded. Fix the fields marked below.")
    return render(request, "fulfillment/shipment.html", shipment_context(found, pack_form=form), status=422)


def _to_shipment(request, pk: int):
    target = _url("fulfillment:shipment", pk)
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@permission_required("fulfillment.ship_order")
def document(request, pk: int, kind: str):
    found = get_object_or_404(ShipmentDocument, shipment_id=pk, kind=kind)
    return FileResponse(
        found.file.open("rb"), as_attachment=True, filename=f"{found.shipment.number}-{kind.replace('_', '-')}.pdf"
    )


# --- lists --------------------------------------------------------------------------------------
@permission_required("fulfillment.ship_order")
def exceptions(request):
    """Every line delivered short, damaged or refused, newest first."""
    return render(
        request,
        "fulfillment/exceptions.html",
        {"discrepancies": selectors.delivery_exceptions(limit=QUEUE_LIMIT), "limit": QUEUE_LIMIT},
    )


@permission_required("orders.view_salesorder")
def backorders(request):
    """The clerk's worklist: order lines that could not be filled, with the date promised."""
    return render(
        request,
        "fulfillment/backorders.html",
        {"backorders": selectors.backorder_worklist(limit=QUEUE_LIMIT), "limit": QUEUE_LIMIT},
    )


# --- returns ------------------------------------------------------------------------------------
@permission_required("fulfillment.ship_order")
def authorise_return(request, pk: int):
    """From a delivered shipment: quantities per line to take back, and why."""
    found = _shipment_or_404(pk)
    if request.method != "POST":
        return redirect("fulfillment:shipment", pk=pk)
    lines = []
    for line in selectors.shipment_lines(found):
        raw = (request.POST.get(f"return_{line.pk}") or "").strip()
        if raw:
            try:
                quantity = Decimal(raw)
            except InvalidOperation:
                quantity = Decimal("-1")
            if quantity != 0:
                lines.append((line, quantity))
    try:
        rma = services.authorise_return(
            customer=found.customer, lines=lines, reason=request.POST.get("reason", ""), by=request.user
        )
    except DomainError as error:
        messages.error(request, str(error))
        return _to_shipment(request, pk)
    messages.success(request, f"Return {rma.number} authorised; tell the customer to write it on the parcel.")
    return redirect("fulfillment:return", pk=rma.pk)


@permission_required("fulfillment.ship_order")
def return_detail(request, pk: int):
    rma = get_object_or_404(ReturnAuthorisation.objects.select_related("customer"), pk=pk)
    lines = rma.lines.select_related("shipment_line__shipment", "shipment_line__order_line__product")
    return render(request, "fulfillment/return.html", {"rma": rma, "lines": lines})


# --- available to promise -----------------------------------------------------------------------
@permission_required("orders.view_product")
def atp(request):
    """The partial order entry includes: per SKU typed, available today and by the requested
    date (on hand - reserved + expected receipts), and the next receipt's date."""
    try:
        on = parse_date(request.GET.get("on") or "") or timezone.localdate()
    except ValueError:  # well formed but not a day (31 February): show today's figures
        on = timezone.localdate()
    skus = [s.strip() for s in request.GET.getlist("sku") if s.strip()][:50]
    return render(request, "fulfillment/_atp.html", atp_context(skus, on))


def atp_context(skus: list[str], on: datetime.date) -> dict:
    products = list(Product.objects.filter(sku__in=skus, is_stock_tracked=True).order_by("sku"))
    ids = [p.pk for p in products]
    today = selectors.available_to_promise(ids, timezone.localdate())
    by_date = selectors.available_to_promise(ids, on)
    next_dates = selectors.next_expected_dates(ids)
    rows = [
        {"product": p, "today": today[p.pk], "by_date": by_date[p.pk], "next_receipt": next_dates.get(p.pk)}
        for p in products
    ]
    return {"atp_rows": rows, "atp_on": on}
