"""The generated dataset passes the nightly integrity check, and the check names a broken row."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from fulfillment.models import StockItem, StockMovement
from invoicing.models import Invoice
from o2c import dataset, integrity
from o2c.core.models import NumberSeries
from orders.models import Customer, SalesOrder
from receivables.models import Allocation, JournalEntry, JournalLine, Payment
from reporting.models import DailyTotal, OrderQuality

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("generate_dataset loads with COPY (PostgreSQL)")


def problems() -> dict[str, list[str]]:
    return {name: found for name, found in integrity.run_checks().problems.items() if found}


def raw(sql: str, params=()) -> None:
    """Write past the database's guards (as a bad restore or a manual fix would)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.slow
def test_generated_dataset_passes_the_integrity_check():
    out = StringIO()
    call_command("generate_dataset", "--invoices", "5000", "--seed", "7", stdout=out, stderr=StringIO())
    assert "numbers gapless per series and year" in out.getvalue()
    # the report tables beat keeps: every shipped order's quality checks, the closed days' totals
    shipped = SalesOrder.objects.filter(lines__shipment_lines__shipment__shipped_at__isnull=False).distinct()
    assert OrderQuality.objects.count() == shipped.count() > 4000
    assert DailyTotal.objects.exists()

    issued = Invoice.objects.filter(kind="invoice")
    assert issued.count() == 5000
    assert Customer.objects.count() == 500
    # plausible states: most paid, some open, some of those overdue, a few partly paid
    paid = issued.filter(status="paid").count()
    open_items = issued.filter(status="issued")
    assert 0.6 * 5000 < paid < 0.95 * 5000
    assert open_items.filter(due_date__lt=datetime.date.today()).exists()
    assert open_items.filter(due_date__gte=datetime.date.today()).exists()
    assert Invoice.objects.filter(kind="credit_note").exists()
    assert Payment.objects.filter(status="partially_applied").exists()
    assert Allocation.objects.count() == Payment.objects.count()
    assert SalesOrder.objects.filter(status="approved").exists()
    # every issued invoice posted, with numbers 1..N per year
    assert JournalEntry.objects.filter(kind="invoice").count() == 5000
    years = sorted(set(issued.values_list("issue_date__year", flat=True)))
    for year in years:
        count = issued.filter(issue_date__year=year).count()
        assert NumberSeries.objects.get(prefix="INV", year=year).last_number == count
        assert issued.filter(number=f"INV-{year}-{count:06d}").exists()

    out = StringIO()
    call_command("check_integrity", stdout=out)
    assert "No problems found." in out.getvalue()


@pytest.fixture
def small():
    dataset.generate(invoices=300, seed=3, log=lambda *args: None)
    assert problems() == {}


def test_open_amount_that_differs_from_the_ledger_is_reported(small):
    invoice = Invoice.objects.filter(status="issued", kind="invoice", amount_open__gt=1).first()
    Invoice.objects.filter(pk=invoice.pk).update(amount_open=invoice.amount_open - 1)
    found = problems()
    assert list(found) == ["AR ledger equals open items"]
    assert f"customer {invoice.customer_id}: ledger receivables" in found["AR ledger equals open items"][0]


def test_stock_balance_that_differs_from_its_movements_is_reported(small):
    item = StockItem.objects.filter(on_hand__gt=0).first()
    StockItem.objects.filter(pk=item.pk).update(on_hand=item.on_hand + 3)
    assert list(problems()) == ["stock ledger equals balances"]


def test_issued_invoice_without_its_entry_and_a_gap_are_reported(small):
    invoice = Invoice.objects.filter(kind="invoice", status="paid").order_by("number").first()
    entry = JournalEntry.objects.get(invoice=invoice, kind="invoice")
    raw("DELETE FROM receivables_journalline WHERE entry_id = %s", [entry.pk])
    raw("DELETE FROM receivables_journalentry WHERE id = %s", [entry.pk])
    number = "INV-2025-000002" if invoice.number.startswith("INV-2025") else invoice.number
    raw("UPDATE invoicing_invoice SET number = %s WHERE number = %s", [number + "9", number])
    found = problems()
    assert (
        f"invoice {invoice.number} (id {invoice.pk}) is issued but has no ledger entry"
        in found["issued documents are posted"]
    )
    gaps = "\n".join(found["numbers gapless per series and year"])
    assert f"missing {number}" in gaps
    assert "AR ledger equals open items" in found  # receivables no longer add up either

    with pytest.raises(CommandError, match="problem"):
        call_command("check_integrity", stdout=StringIO())


def test_unbalanced_entry_and_a_counter_behind_are_reported(small):
    line = JournalLine.objects.filter(account="4000").first()
    raw("UPDATE receivables_journalline SET credit = credit + 1 WHERE id = %s", [line.pk])
    series = NumberSeries.objects.get(prefix="SHP", year=datetime.date.today().year)
    NumberSeries.objects.filter(pk=series.pk).update(last_number=series.last_number + 1)
    found = problems()
    assert found["journal entries balance"] == [
        f"journal entry {line.entry_id} does not balance (debits - credits = -1.00)"
    ]
    assert any("counter stands at" in problem for problem in found["numbers gapless per series and year"])


def test_nightly_task_runs_the_same_check(small):
    from o2c.tasks import nightly_integrity_check

    assert nightly_integrity_check() == 0
    StockMovement.objects.create(stock_item=StockItem.objects.first(), kind="receipt", on_hand_change=1)
    assert nightly_integrity_check() == 1
