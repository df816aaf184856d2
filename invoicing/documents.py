"""Rendering: pure functions from an issued invoice or credit note to bytes (PDF, UBL,
Factur-X). The legal data come from what the invoice froze at issue; only the branding (logo,
colours, footer) is read from the company, so an admin can re-brand future documents."""

import base64
import mimetypes

from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from . import einvoice
from .models import Company, Invoice
from .references import format_rf

# Only data: URLs: a document can never reach the network or the file system (RELIABILITY §9),
# and skipping the default fetcher's set-up is faster (PERFORMANCE.md).
DATA_ONLY_FETCHER = URLFetcher(allowed_protocols={"data"}, timeout=1)


def _load(invoice: Invoice) -> Invoice:
    if "tax_lines" in getattr(invoice, "_prefetched_objects_cache", {}):
        return invoice  # loaded already (render() loads once for every document kind)
    return (
        Invoice.objects.select_related("customer", "order", "shipment", "credited_invoice")
        .prefetch_related("lines__order_line", "tax_lines", "instalments")
        .get(pk=invoice.pk)
    )


def branding() -> dict:
    company = Company.objects.filter(is_active=True).first()
    logo = ""
    if company and company.logo:
        content_type = mimetypes.guess_type(company.logo.name)[0] or "image/png"
        with company.logo.open("rb") as handle:
            logo = f"data:{content_type};base64,{base64.b64encode(handle.read()).decode()}"
    return {
        "logo": logo,
        "primary": company.primary_colour if company else "#1f3a5f",
        "accent": company.accent_colour if company else "#f3f6fa",
        "footer": company.footer_text if company else "",
    }


def invoice_html(invoice: Invoice, brand: dict | None = None) -> str:
    invoice = _load(invoice)
    return render_to_string(
        "invoicing/invoice_pdf.html",
        {
            "invoice": invoice,
            "title": {"credit_note": "Credit note", "charge": "Dunning charge"}.get(invoice.kind, "Invoice"),
            "seller": invoice.seller,
            "buyer": invoice.buyer,
            "lines": invoice.lines.all(),
            "tax_lines": invoice.tax_lines.all(),
            "instalments": invoice.instalments.all(),
            "exemptions": [row for row in invoice.tax_lines.all() if row.exemption_reason],
            "rf": format_rf(invoice.rf_reference) if invoice.rf_reference else "",
            "brand": brand if brand is not None else branding(),
        },
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    return HTML(string=invoice_html(invoice), url_fetcher=DATA_ONLY_FETCHER).write_pdf()


def invoice_facturx(invoice: Invoice) -> bytes:
    """PDF/A-3b from WeasyPrint with the CII XML embedded by the factur-x library (EN 16931)."""
    from facturx import generate_from_binary

    xml = einvoice.cii(invoice)
    pdf = HTML(string=invoice_html(invoice), url_fetcher=DATA_ONLY_FETCHER).write_pdf(pdf_variant="pdf/a-3b")
    return generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True, lang="en-GB")


def render(invoice: Invoice, kind: str) -> tuple[bytes, str]:
    """(content, file name) of one document kind of an issued invoice."""
    invoice = _load(invoice)
    if kind == "pdf":
        return invoice_pdf(invoice), f"{invoice.number}.pdf"
    if kind == "ubl":
        return einvoice.ubl(invoice), f"{invoice.number}.xml"
    if kind == "facturx":
        return invoice_facturx(invoice), f"{invoice.number}-facturx.pdf"
    raise ValueError(f"Unknown document kind {kind!r}; choose pdf, ubl or facturx.")


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"
