"""Celery tasks that call the flow: thin, ids in, safe to run twice."""

import datetime
import logging
import os
import time

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

from o2c import flow, integrity
from receivables import cashapp, selectors
from receivables.models import StatementLine, StatementUpload

logger = logging.getLogger(__name__)
CHUNK = 500


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def import_statement_upload(self, upload_id: int) -> None:
    """Import an uploaded statement (one transaction: all or nothing), then match and apply its
    new lines chunk by chunk, saving progress after each so the page's bar moves. A rerun finds
    the statement imported and its lines matched: nothing happens twice."""
    upload = StatementUpload.objects.select_related("bank_account").get(pk=upload_id)
    if upload.status == StatementUpload.Status.DONE:
        return
    resumed = upload.status == StatementUpload.Status.RUNNING  # an earlier run died (worker killed)
    upload.status = StatementUpload.Status.RUNNING
    upload.save(update_fields=["status"])
    try:
        with upload.file.open("rb") as handle:
            data = handle.read()
        result = flow.import_statement_lines(
            bank_account=upload.bank_account, data=data, file_name=upload.file_name, by=upload.created_by
        )
    except Exception as error:  # noqa: BLE001 - the clerk sees the reason on the page
        upload.status = StatementUpload.Status.FAILED
        upload.message = getattr(error, "message", None) or f"The import failed: {error}"
        upload.save(update_fields=["status", "message"])
        return
    line_ids = result.new_line_ids
    if resumed:  # the statement was imported by the run that died: match what it left open
        line_ids += list(
            StatementLine.objects.filter(
                statement__in=result.existing_statements,
                status__in=[StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED],
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    upload.total = len(line_ids)
    upload.summary = {"lines": len(line_ids), "already_imported": result.already_imported, "warnings": result.warnings}
    upload.save(update_fields=["total", "summary"])
    totals = {"matched": 0, "suggested": 0, "unmatched": 0, "ignored": 0}
    for start in range(0, len(line_ids), CHUNK):
        _pause_for_chaos_tests()
        summary = flow.match_statement_lines(line_ids=line_ids[start : start + CHUNK], by=upload.created_by)
        for key in totals:
            totals[key] += getattr(summary, key)
        upload.progress = min(start + CHUNK, len(line_ids))
        upload.save(update_fields=["progress"])
    upload.summary |= totals
    upload.status = StatementUpload.Status.DONE
    upload.progress = upload.total
    upload.message = (
        f"{len(line_ids)} new lines: {totals['matched']} matched, {totals['suggested']} suggested, "
        f"{totals['unmatched']} unmatched, {totals['ignored']} ignored."
    )
    upload.save(update_fields=["summary", "status", "progress", "message"])


def _pause_for_chaos_tests() -> None:
    # tests/resilience kill a worker between the import (committed) and the matching of a
    # statement; this makes that moment last. Unset (0) everywhere else.
    delay = float(os.environ.get("O2C_APPLY_DELAY_SECONDS", "0") or 0)
    if delay:
        time.sleep(delay)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def nightly_cash_reconciliation(self) -> int:
    """Match open lines again (new invoices may match them), then prove the AR ledger equals the
    open items minus unapplied cash per customer and that statements follow on from each other.
    Differences are kept for the AR page. Returns the number of differences."""
    summary = flow.rematch_open_lines()
    problems = selectors.ledger_integrity_problems() + selectors.statement_continuity_problems()
    with transaction.atomic():
        cashapp.record_reconciliation(lines_rematched=summary.matched, problems=problems)
    for problem in problems:
        logger.error("Cash reconciliation: %s", problem)
    return len(problems)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def import_orders(self, order_import_id: int) -> None:
    """Import a confirmed CSV file's good orders; a re-delivered task skips the saved ones."""
    flow.import_orders(order_import_id=order_import_id)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_consolidated_billing(self, frequency: str, on: str | None = None) -> int:
    """The weekly or monthly billing run (Celery beat, just after midnight): bills what shipped
    up to `on` (default yesterday). Safe to run twice: what was billed is not billed again.
    Returns how many invoices it issued."""
    day = datetime.date.fromisoformat(on) if on else timezone.localdate() - datetime.timedelta(days=1)
    return len(flow.run_consolidated_billing(frequency=frequency, on=day))


def _day(on: str | None) -> datetime.date:
    return datetime.date.fromisoformat(on) if on else timezone.localdate()


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_reminders(self, on: str | None = None) -> int:
    """Daily: the pre-due reminders of `on` (default today). Run twice, the second run finds
    every reminder written and queues nothing new. Returns how many it queued."""
    return len(flow.send_reminders(on=_day(on)))


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_dunning(self, on: str | None = None) -> int:
    """Daily: the dunning run of `on` (default today); a second run for the day returns the
    first. Returns the run's id."""
    return flow.run_dunning(on=_day(on)).pk


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_dunning_letter(self, letter_id: int) -> None:
    """Charge, render and send one approved dunning letter; a sent letter is left alone."""
    flow.deliver_dunning_letter(letter_id=letter_id)


@shared_task(acks_late=True)
def nightly_integrity_check() -> int:
    """Nightly: the whole integrity check of o2c/integrity.py (the one `manage.py check_integrity`
    runs). Read only; logs each problem; returns how many there are."""
    report = integrity.run_checks()
    for problem in report.all_problems:
        logger.error("Integrity: %s", problem)
    if not report.all_problems:
        logger.info("Integrity: ledgers, stock and number series are consistent.")
    return len(report.all_problems)


@shared_task(acks_late=True)
def requeue_stale_work(minutes: int = 10) -> dict:
    """Every few minutes (beat): publish again the work whose task never reached a worker (the
    broker was down when its transaction committed, or the message was lost): send logs still
    queued, statement uploads still queued, issued documents with no PDF, shipment documents
    missing for the stage the shipment reached (each over the last two days). Every task is
    idempotent, so publishing one twice does no harm. Returns how many of each were published."""
    from fulfillment import tasks as fulfillment_tasks
    from fulfillment.models import Shipment
    from invoicing import tasks as invoicing_tasks
    from invoicing.models import Invoice, SendLog

    before = timezone.now() - datetime.timedelta(minutes=minutes)
    logs = list(
        SendLog.objects.filter(result=SendLog.Result.QUEUED, created_at__lte=before)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    uploads = list(
        StatementUpload.objects.filter(status=StatementUpload.Status.QUEUED, created_at__lte=before)
        .order_by("pk")
        .values_list("pk", flat=True)[:100]
    )
    unrendered = list(
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .filter(issued_at__lte=before, issued_at__gte=before - datetime.timedelta(days=2))
        .exclude(documents__kind="pdf")
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    shipment_documents = []
    for kind, stamp in (("pick_list", "created_at"), ("packing_slip", "packed_at"), ("bill_of_lading", "shipped_at")):
        window = {f"{stamp}__lte": before, f"{stamp}__gte": before - datetime.timedelta(days=2)}
        shipment_documents += [
            (shipment_id, kind)
            for shipment_id in Shipment.objects.filter(kind=Shipment.Kind.GOODS, **window)
            .exclude(documents__kind=kind)
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        ]
    for shipment_id, kind in shipment_documents:
        fulfillment_tasks.render_shipment_document.delay(shipment_id, kind)
    for invoice_id in unrendered:
        invoicing_tasks.render_invoice_pdf.delay(invoice_id)
    for log_id in logs:
        invoicing_tasks.deliver_invoice.delay(log_id)
    for upload_id in uploads:
        import_statement_upload.delay(upload_id)
    published = {
        "send_logs": len(logs),
        "uploads": len(uploads),
        "renders": len(unrendered),
        "shipment_documents": len(shipment_documents),
    }
    if any(published.values()):
        logger.warning("Published again after a broker outage or a lost message: %s", published)
    return published
