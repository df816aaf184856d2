from celery import shared_task
from django.db import OperationalError

from . import documents, services
from .models import Shipment, ShipmentDocument


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def render_shipment_document(self, shipment_id: int, kind: str) -> None:
    """Render and store one document of a shipment; does nothing when it is already stored."""
    if ShipmentDocument.objects.filter(shipment_id=shipment_id, kind=kind).exists():
        return
    shipment = Shipment.objects.get(pk=shipment_id)
    services.store_document(
        shipment_id=shipment_id,
        kind=kind,
        content=documents.shipment_pdf(shipment, kind),
        filename=documents.filename(shipment, kind),
    )
