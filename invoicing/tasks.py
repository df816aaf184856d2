from celery import shared_task
from django.db import OperationalError

from . import documents, services
from .models import Invoice, InvoiceDocument


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def render_invoice_pdf(self, invoice_id: int) -> None:
    """Render and store the PDF of an issued invoice; does nothing when it is already stored."""
    if InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=InvoiceDocument.Kind.PDF).exists():
        return
    invoice = Invoice.objects.get(pk=invoice_id)
    if invoice.number is None:
        return  # drafts have no document
    services.store_document(
        invoice_id=invoice_id,
        kind=InvoiceDocument.Kind.PDF,
        content=documents.invoice_pdf(invoice),
        filename=documents.pdf_filename(invoice),
    )
