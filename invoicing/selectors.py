"""Reads for billing pages and runs."""

import datetime
from itertools import groupby

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from fulfillment.models import Shipment, ShipmentLine

from .models import BillingProfile, Invoice, InvoiceDocument, InvoiceLine


def _unbilled_lines() -> QuerySet[ShipmentLine]:
    billed_up_front = InvoiceLine.objects.filter(
        order_line=OuterRef("order_line"), shipment_line__isnull=True, invoice__kind=Invoice.Kind.INVOICE
    )
    return (
        ShipmentLine.objects.filter(invoice_line__isnull=True, shipment__shipped_at__isnull=False)
        .exclude(Exists(billed_up_front))
        .select_related("shipment__customer", "order_line__order", "order_line__product")
    )


def unbilled_shipment_lines_by_customer(*, rule: str, until: datetime.date):
    """(customer, [shipment lines]) for every customer billed with `rule` that has shipped
    lines not billed yet, shipped on or before `until`."""
    lines = (
        _unbilled_lines()
        .filter(
            shipment__customer__billing_profile__rule=rule,
            shipment__shipped_at__date__lte=until,
        )
        .order_by("shipment__customer_id", "shipment__shipped_at", "pk")
    )
    for _, group in groupby(lines, key=lambda line: line.shipment.customer_id):
        group = list(group)
        yield group[0].shipment.customer, group


def shipments_to_bill() -> QuerySet[Shipment]:
    """Shipments with lines not billed yet (waiting for a consolidated run, or stuck)."""
    return (
        Shipment.objects.filter(pk__in=_unbilled_lines().values("shipment_id"))
        .select_related("customer", "customer__billing_profile")
        .annotate(unbilled=Count("lines", filter=Q(lines__invoice_line__isnull=True)))
        .order_by("shipped_at", "pk")
    )


def drafts() -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(status=Invoice.Status.DRAFT)
        .select_related("customer", "credited_invoice")
        .order_by("-created_at", "-id")
    )


def issued(*, status: str = "", kind: str = "", customer: str = "", date_from=None, date_to=None) -> QuerySet:
    """Issued invoices and credit notes for the list page, filtered, newest first (keyset)."""
    queryset = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .select_related("customer")
        .annotate(
            has_pdf=Exists(InvoiceDocument.objects.filter(invoice=OuterRef("pk"), kind=InvoiceDocument.Kind.PDF)),
        )
    )
    if status in Invoice.Status.values:
        queryset = queryset.filter(status=status)
    if kind in Invoice.Kind.values:
        queryset = queryset.filter(kind=kind)
    if customer:
        queryset = queryset.filter(Q(customer__name__icontains=customer) | Q(customer__account_number=customer))
    if date_from:
        queryset = queryset.filter(issue_date__gte=date_from)
    if date_to:
        queryset = queryset.filter(issue_date__lte=date_to)
    return queryset


def profiles_with_bounces() -> QuerySet[BillingProfile]:
    return BillingProfile.objects.filter(email_bounced=True).select_related("customer")
