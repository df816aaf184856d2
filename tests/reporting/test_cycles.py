"""Cycle times from the stored facts (CycleFact, services.refresh_cycle_facts) read exactly as the live
figures: the hand-computed books of test_kpis.py, read before any refresh, after one, and after one that
stored everything (no document touched within the margin); a document touched after a refresh counts at
once; an incremental refresh stores the same as a full one."""

import datetime
from decimal import Decimal

import pytest

from fulfillment.models import Shipment, ShipmentLine
from invoicing.models import Invoice
from orders.models import SalesOrder, SalesOrderLine
from receivables import cashapp
from receivables.models import Allocation, Payment
from reporting import kpis, services
from reporting.models import CycleFact, CycleFactsRefresh
from tests.reporting.factories import at, pay
from tests.reporting.test_kpis import END, START, books  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

D = datetime.date


def figures(scope=kpis.EVERYTHING, start=START, end=END):
    return {
        c["key"]: (c["count"], c["median"], c["p90"], c["mean"], [b["amount"] for b in c["histogram"]])
        for c in kpis.cycle_times(start=start, end=end, scope=scope)
    }


@pytest.fixture(params=["live", "refreshed", "all stored"])
def stored(request, books):  # noqa: F811
    """Live (no refresh yet); refreshed (the payments just made are still within the margin, so those
    invoices are worked out live); all stored (every document older than the margin: the table alone)."""
    if request.param == "all stored":
        Allocation.objects.update(created_at=at(D(2026, 4, 10)))
    if request.param != "live":
        refresh = services.refresh_cycle_facts()
        # 4 shipments; I1..I4 shipped and invoiced; I1 and I6 paid (invoice to cash), I1 with an order
        assert (refresh.full, refresh.documents) == (True, 4 + 4 + 2 + 1)
    return request.param


def test_cycle_times_as_computed_by_hand(stored):
    cycles = {c["key"]: c for c in kpis.cycle_times(start=START, end=END)}
    ship = cycles["order_to_ship"]  # O2 7, O3 10, O4 8 days
    assert (ship["count"], ship["median"], ship["p90"], ship["mean"]) == (
        3,
        Decimal("8.0"),
        Decimal("9.6"),
        Decimal("8.3"),
    )
    assert {b["label"]: b["amount"] for b in ship["histogram"]}["8-14"] == 2
    invoice = cycles["ship_to_invoice"]  # I2 3, I3 2, I4 1
    assert (invoice["count"], invoice["median"], invoice["p90"]) == (3, Decimal("2.0"), Decimal("2.8"))
    assert (cycles["invoice_to_cash"]["count"], cycles["invoice_to_cash"]["median"]) == (1, Decimal("41.0"))
    assert (cycles["order_to_cash"]["count"], cycles["order_to_cash"]["median"]) == (1, Decimal("50.0"))


def test_scopes_and_drill_downs(stored):
    wholesale = figures(kpis.Scope(segment="wholesale"))  # customer B: O3 10, O4 8; I3 2, I4 1
    assert [wholesale[k][0] for k in ("order_to_ship", "ship_to_invoice", "invoice_to_cash")] == [2, 2, 0]
    assert wholesale["order_to_ship"][1] == Decimal("9.0")
    assert figures(kpis.Scope(currency="USD"))["order_to_ship"][0] == 0
    assert figures(kpis.Scope(currency="EUR")) == figures()
    # April: I6 paid on 10 Apr, 160 days after its 1 Nov invoice; no order, so no order to cash
    april = figures(start=D(2026, 4, 1), end=D(2026, 4, 30))
    assert (april["invoice_to_cash"][:2], april["order_to_cash"][0]) == ((1, Decimal("160.0")), 0)
    rows = kpis.cycle_samples(measure="order_to_ship", start=START, end=END)
    assert [(number, customer, days) for number, customer, days in rows] == [
        ("S-O3", "Beta NV", 10),
        ("S-O4", "Beta NV", 8),
        ("S-O2", "Alpha BV", 7),
    ]
    rows = kpis.cycle_samples(measure="ship_to_invoice", start=START, end=END, scope=kpis.Scope(segment="retail"))
    assert rows == [("I2", "Alpha BV", 3)]


def test_a_shipment_of_orders_in_two_currencies(books):  # noqa: F811
    """One shipment of a customer's EUR order of 1 Mar and USD order of 5 Mar, shipped 15 Mar: counted once
    from the earliest order (14 days), or from the orders in the chosen currency (USD: 10 days)."""
    eur = SalesOrder.objects.get(number="O4")  # customer B, ordered 1 Mar, its own shipment S-O4 on 9 Mar
    usd = SalesOrder.objects.create(
        number="O9", customer=eur.customer, status="completed", order_date=D(2026, 3, 5), currency="USD"
    )
    shipment = Shipment.objects.create(
        number="S-MIX", customer=eur.customer, status="shipped", ship_to="Dock 1", shipped_at=at(D(2026, 3, 15))
    )
    for order in (eur, usd):
        line = SalesOrderLine.objects.create(
            order=order,
            line_number=9,
            product=eur.lines.first().product,
            description="More",
            quantity=Decimal("1"),
            unit_price=Decimal("1.00"),
            tax_rate=Decimal("0"),
            net_amount=Decimal("1.00"),
            tax_amount=Decimal("0"),
        )
        ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal("1"))
    for _ in range(2):  # live, then from the facts the first refresh stored
        ship = figures()["order_to_ship"]
        assert ship[:2] == (4, Decimal("9.0"))  # 7, 8, 10, 14
        assert figures(kpis.Scope(currency="USD"))["order_to_ship"][:2] == (1, Decimal("10.0"))
        assert figures(kpis.Scope(currency="EUR"))["order_to_ship"] == ship  # the EUR order is the earliest
        rows = kpis.cycle_samples(measure="order_to_ship", start=START, end=END, scope=kpis.Scope(currency="USD"))
        assert rows == [("S-MIX", "Beta NV", 10)]
        services.refresh_cycle_facts()
    assert CycleFact.objects.filter(document_id=shipment.pk, measure=CycleFact.Measure.ORDER_TO_SHIP).count() == 2


def test_a_document_touched_after_the_refresh_counts_at_once_and_is_stored_by_the_next(books):  # noqa: F811
    Allocation.objects.update(created_at=at(D(2026, 4, 10)))
    services.refresh_cycle_facts()
    assert figures()["invoice_to_cash"][:2] == (1, Decimal("41.0"))
    # I2's last 1500 paid on 20 Mar: paid 64 days after its 15 Jan invoice, 74 after its 5 Jan order ...
    pay(Invoice.objects.get(number="I2"), "1500", D(2026, 3, 20))
    live = figures()
    assert live["invoice_to_cash"][:3] == (2, Decimal("52.5"), Decimal("61.7"))  # 41, 64: p90 41 + 0.9 x 23
    assert live["order_to_cash"][:2] == (2, Decimal("62.0"))  # 50, 74
    assert not CycleFact.objects.filter(number="I2", measure=CycleFact.Measure.INVOICE_TO_CASH).exists()
    # ... and I1's payment bounces: I1 is no longer paid, at once
    cashapp.reverse_payment(payment=Payment.objects.get(allocations__invoice__number="I1"), reason="returned")
    live = figures()
    assert live["invoice_to_cash"][:2] == (1, Decimal("64.0"))
    # the next refresh works out only what was touched (I1, I2) and stores the same figures
    refresh = services.refresh_cycle_facts()
    # I1: its ship to invoice again, no longer to cash; I2: ship to invoice, to cash, order to cash
    assert (refresh.full, refresh.documents) == (False, 1 + 3)
    assert not CycleFact.objects.filter(number="I1", measure=CycleFact.Measure.INVOICE_TO_CASH).exists()
    Allocation.objects.update(created_at=at(D(2026, 4, 10)), reversed_at=None)  # nothing touched within the margin
    Payment.objects.update(reversed_at=None)
    assert figures() == live
    assert kpis.cycle_samples(measure="invoice_to_cash", start=START, end=END) == [("I2", "Alpha BV", 64)]


def test_a_full_refresh_stores_the_same_as_the_incremental_ones(books):  # noqa: F811
    services.refresh_cycle_facts()
    pay(Invoice.objects.get(number="I2"), "1500", D(2026, 3, 20))
    Shipment.objects.filter(number="S-O4").update(shipped_at=datetime.datetime.now(datetime.UTC))  # left just now
    services.refresh_cycle_facts()
    incremental = set(CycleFact.objects.values_list(*FACT_COLUMNS))
    assert services.refresh_cycle_facts(full=True).full
    assert set(CycleFact.objects.values_list(*FACT_COLUMNS)) == incremental
    assert len(incremental) == 4 + 4 + 3 + 2
    assert CycleFactsRefresh.objects.count() == 3


FACT_COLUMNS = ("measure", "document_id", "currency", "main", "number", "customer_id", "day", "days")
