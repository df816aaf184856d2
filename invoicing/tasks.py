from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {"acks_late": True, "autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(bind=True, **RETRY)
def render_invoice_pdf(self, invoice_id: int) -> None:
    """Render and store the documents of an issued invoice (PDF, UBL, Factur-X); what is
    stored already is left alone, so a redelivered task (a killed worker) does nothing twice."""
    services.render_documents(invoice_id=invoice_id)


render_documents = render_invoice_pdf  # the name the rest of the code may prefer


@shared_task(bind=True, **RETRY)
def deliver_invoice(self, send_log_id: int) -> None:
    """Send one queued delivery (email, export file, portal); a delivered one is left alone."""
    services.deliver(send_log_id=send_log_id)


@shared_task(bind=True, **RETRY)
def build_document_bundle(self, bundle_id: int) -> None:
    """Zip the PDFs of a bulk download, with progress the page polls."""
    services.build_bundle(bundle_id=bundle_id)
