"""Billing clerk pages that read (lists, documents, bundle progress). Pages that move a
document (issue, send, credit) are desk pages in o2c/views.py: they call o2c.flow."""

import datetime

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import selectors
from .models import DocumentBundle, Invoice, InvoiceDocument

LIST_ORDER = ("-issue_date", "-id")
CONTENT_TYPES = {"pdf": "application/pdf", "ubl": "application/xml", "facturx": "application/pdf"}


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@permission_required("invoicing.view_invoice")
def invoice_list(request):
    """Issued invoices and credit notes, newest first, 50 a page (keyset), filtered by GET
    (status, kind, customer, from, to); each row can be ticked for a bulk action."""
    filters = {
        "status": request.GET.get("status", ""),
        "kind": request.GET.get("kind", ""),
        "customer": request.GET.get("customer", "").strip()[:100],
        "date_from": _date(request.GET.get("from", "")),
        "date_to": _date(request.GET.get("to", "")),
    }
    page = keyset_page(request, selectors.issued(**filters), order=LIST_ORDER)
    context = {
        "page": page,
        "filters": filters,
        "filtered": any(filters.values()),
        "statuses": [c for c in Invoice.Status.choices if c[0] != "draft"],
        "kinds": Invoice.Kind.choices,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "invoicing/invoice_list.html#results", context)
    return render(request, "invoicing/invoice_list.html", context)


@permission_required("invoicing.view_invoice")
def ready_to_bill(request):
    """What is waiting: drafts to issue, and shipped lines not billed yet (waiting for their
    customer's weekly or monthly run, or stuck)."""
    drafts = list(selectors.drafts()[:200])
    shipments = list(selectors.shipments_to_bill()[:200])
    return render(request, "invoicing/ready_to_bill.html", {"drafts": drafts, "shipments": shipments})


@permission_required("invoicing.view_invoice")
def document(request, pk: int, kind: str):
    """A stored document of an issued invoice, as a download (never served from MEDIA_URL)."""
    invoice = get_object_or_404(Invoice, pk=pk)
    stored = InvoiceDocument.objects.filter(invoice=invoice, kind=kind).first()
    if stored is None:
        raise Http404("This document is still being rendered, or cannot be made for this invoice.")
    return document_response(stored)


@permission_required("invoicing.view_invoice")
def invoice_pdf(request, pk: int):
    return document(request, pk, "pdf")


def document_response(document: InvoiceDocument) -> FileResponse:
    names = {"pdf": ".pdf", "ubl": ".xml", "facturx": "-facturx.pdf"}
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.invoice.number}{names[document.kind]}",
        content_type=CONTENT_TYPES[document.kind],
    )


@permission_required("invoicing.view_invoice")
def bundle(request, pk: int):
    """Progress of a bulk PDF download (polled by htmx every second), then its link."""
    item = get_object_or_404(DocumentBundle, pk=pk, requested_by=request.user)
    if request.htmx:
        return render(request, "invoicing/bundle.html#progress", {"bundle": item})
    return render(request, "invoicing/bundle.html", {"bundle": item})


@permission_required("invoicing.view_invoice")
def bundle_download(request, pk: int):
    item = get_object_or_404(DocumentBundle, pk=pk, requested_by=request.user, status=DocumentBundle.Status.DONE)
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=f"invoices-{item.pk}.zip")
