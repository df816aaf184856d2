"""Rendering: pure functions from a shipment to PDF bytes (pick list, packing slip, bill of
lading). WeasyPrint with a fetcher that allows only data: URLs, so a document never reaches the
network or the file system."""

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from .models import Shipment, ShipmentDocument

DATA_ONLY_FETCHER = URLFetcher(allowed_protocols={"data"}, timeout=1)
TEMPLATES = {
    ShipmentDocument.Kind.PICK_LIST: "fulfillment/pdf/pick_list.html",
    ShipmentDocument.Kind.PACKING_SLIP: "fulfillment/pdf/packing_slip.html",
    ShipmentDocument.Kind.BILL_OF_LADING: "fulfillment/pdf/bill_of_lading.html",
}


def shipment_pdf(shipment: Shipment, kind: str) -> bytes:
    shipment = (
        Shipment.objects.select_related("customer", "warehouse", "carrier")
        .prefetch_related("packages")
        .get(pk=shipment.pk)
    )
    lines = list(
        shipment.lines.select_related("order_line__order", "order_line__product").order_by(
            "order_line__order_id", "order_line__line_number"
        )
    )
    locations = (
        dict(
            shipment.warehouse.stock.filter(product_id__in=[line.order_line.product_id for line in lines])
            .exclude(location=None)
            .values_list("product_id", "location__code")
        )
        if shipment.warehouse_id
        else {}
    )
    for line in lines:
        line.location_code = locations.get(line.order_line.product_id, "")
    if kind == ShipmentDocument.Kind.PICK_LIST:
        lines.sort(key=lambda line: (line.location_code or "~", line.order_line.product.sku))
    packages = list(shipment.packages.all())
    html = render_to_string(
        TEMPLATES[kind],
        {
            "shipment": shipment,
            "lines": lines,
            "packages": packages,
            "orders": sorted({line.order_line.order.number for line in lines}),
            "customer_pos": sorted(
                {line.order_line.order.customer_po for line in lines if line.order_line.order.customer_po}
            ),
            "total_weight": sum((p.weight_kg for p in packages), 0),
            "company": settings.O2C_COMPANY,
            "title": dict(ShipmentDocument.Kind.choices)[kind],
        },
    )
    return HTML(string=html, url_fetcher=DATA_ONLY_FETCHER).write_pdf()


def filename(shipment: Shipment, kind: str) -> str:
    return f"{shipment.number}-{kind.replace('_', '-')}.pdf"
