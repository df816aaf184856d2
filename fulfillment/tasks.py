import logging

from celery import shared_task
from django.db import OperationalError

from . import documents, selectors, services
from .models import Shipment, ShipmentDocument

logger = logging.getLogger(__name__)


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


@shared_task(acks_late=True)
def check_stock_ledger() -> int:
    """Nightly: every stock item's on hand and reserved equal the sums of its movements. Read only."""
    problems = selectors.stock_balances_match_ledger()
    for problem in problems:
        logger.error("Stock ledger integrity: %s", problem)
    if not problems:
        logger.info("Stock ledger integrity: every balance equals its movements.")
    return len(problems)
