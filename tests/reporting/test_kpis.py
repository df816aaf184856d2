"""KPIs on a small dataset computed by hand: every expected figure is written out with its formula.

The period is Q1 2026: 1 Jan - 31 Mar 2026, 90 days. All amounts EUR, tax 0 so total = net.

    invoice  customer  order      shipped    issued      due         total  paid (value date)
    I1       A         1 Dec 25   8 Dec 25   10 Dec 25   9 Jan 26    1000   1000 on 20 Jan 26
    I2       A         5 Jan 26   12 Jan 26  15 Jan 26   14 Feb 26   2000    500 on 20 Feb 26
    I3       B         20 Jan 26  30 Jan 26  1 Feb 26    3 Mar 26    3000   -
    I4       B         1 Mar 26   9 Mar 26   10 Mar 26   9 Apr 26    4000   -
    I5       A         -          -          20 Dec 25   19 Jan 26    600   -
    I6       B         -          -          1 Nov 25    1 Dec 25     500    500 on 10 Apr 26 (after the period)
    I7       A         -          -          5 Apr 26    5 May 26     700   -  (after the period)
    CN1      B         credit note on I3, issued 15 Mar 26, 200

Receivables open on 31 Mar 26 (from the ledger: I6 is paid today but was open then):
    I2 1500 + I3 3000 + I4 4000 + I5 600 + I6 500 = 9600; current (due >= 31 Mar) = I4 4000
Receivables open on 31 Dec 25: I1 1000 + I5 600 + I6 500 = 2100
Credit sales Q1 = I2 2000 + I3 3000 + I4 4000 - CN1 200 = 8800
"""

import datetime
from decimal import Decimal

import pytest

from reporting import kpis
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.reporting.factories import at, decide, make_invoice, make_order, pay

pytestmark = pytest.mark.django_db

D = datetime.date
START, END = D(2026, 1, 1), D(2026, 3, 31)


@pytest.fixture
def books():
    a = CustomerFactory(name="Alpha BV", segment="retail")
    b = CustomerFactory(name="Beta NV", segment="wholesale")
    product = ProductFactory()
    o1, s1 = make_order(a, product, ordered=D(2025, 12, 1), shipped=D(2025, 12, 8), number="O1")
    o2, s2 = make_order(a, product, ordered=D(2026, 1, 5), shipped=D(2026, 1, 12), number="O2")
    o3, s3 = make_order(b, product, ordered=D(2026, 1, 20), shipped=D(2026, 1, 30), number="O3")
    o4, s4 = make_order(b, product, ordered=D(2026, 3, 1), shipped=D(2026, 3, 9), number="O4")
    i1 = make_invoice("I1", a, issued=D(2025, 12, 10), due=D(2026, 1, 9), total="1000", order=o1, shipment=s1)
    i2 = make_invoice("I2", a, issued=D(2026, 1, 15), due=D(2026, 2, 14), total="2000", order=o2, shipment=s2)
    i3 = make_invoice("I3", b, issued=D(2026, 2, 1), due=D(2026, 3, 3), total="3000", order=o3, shipment=s3)
    make_invoice("I4", b, issued=D(2026, 3, 10), due=D(2026, 4, 9), total="4000", order=o4, shipment=s4)
    make_invoice("I5", a, issued=D(2025, 12, 20), due=D(2026, 1, 19), total="600")
    i6 = make_invoice("I6", b, issued=D(2025, 11, 1), due=D(2025, 12, 1), total="500")
    make_invoice("I7", a, issued=D(2026, 4, 5), due=D(2026, 5, 5), total="700")
    make_invoice("CN1", b, issued=D(2026, 3, 15), due=D(2026, 3, 15), total="200", kind="credit_note", credited=i3)
    pay(i1, "1000", D(2026, 1, 20))
    pay(i2, "500", D(2026, 2, 20))
    pay(i6, "500", D(2026, 4, 10))
    # Credit checks: O1 approved (before the period), O2 held 4 h, O3 approved, O4 held 24 h.
    decide(o1, "approved", at(D(2025, 12, 1), 9))
    decide(o2, "held", at(D(2026, 1, 5), 9))
    decide(o2, "released", at(D(2026, 1, 5), 13))
    decide(o3, "approved", at(D(2026, 1, 20), 9))
    decide(o4, "held", at(D(2026, 3, 1), 10))
    decide(o4, "released", at(D(2026, 3, 2), 10))


def test_receivables_at_both_ends_come_from_the_ledger(books):
    assert kpis.receivables_on(on=END) == {"total": Decimal("9600.00"), "current": Decimal("4000.00")}
    assert kpis.receivables_on(on=D(2025, 12, 31))["total"] == Decimal("2100.00")  # I1 + I5 + I6


def test_dso_bpdso_add_cei_and_current_share(books):
    k = kpis.kpis(start=START, end=END)
    assert k.days == 90
    assert k.credit_sales == Decimal("8800.00")  # 2000 + 3000 + 4000 - 200
    assert k.receivables_start == Decimal("2100.00")
    assert k.receivables_end == Decimal("9600.00")
    assert k.current_end == Decimal("4000.00")
    assert k.dso == Decimal("98.2")  # 9600 / 8800 x 90 = 98.18
    assert k.best_possible_dso == Decimal("40.9")  # 4000 / 8800 x 90 = 40.91
    assert k.average_days_delinquent == Decimal("57.3")  # 98.2 - 40.9
    assert k.cei == Decimal("18.8")  # (2100 + 8800 - 9600) / (2100 + 8800 - 4000) x 100 = 1300 / 6900 x 100 = 18.84
    assert k.current_share == Decimal("41.7")  # 4000 / 9600 x 100 = 41.67


def test_count_back_dso(books):
    # 9600 open on 31 Mar. Monthly credit sales: Mar 4000 - 200 = 3800, Feb 3000, Jan 2000, Dec 1600.
    # 9600 - 3800 = 5800 (31 days), - 3000 = 2800 (+28 = 59), - 2000 = 800 (+31 = 90),
    # then 800 of December's 1600: 800 / 1600 x 31 = 15.5 -> 90 + 15.5 = 105.5 days
    assert kpis.kpis(start=START, end=END).countback_dso == Decimal("105.5")


def test_count_back_within_the_current_month():
    # 31 Mar: 1000 open, March sales 3100: 1000 / 3100 x 31 = 10.0 days
    sales = {D(2026, 3, 1): Decimal("3100")}
    assert kpis.count_back_dso(receivables=Decimal("1000"), end=D(2026, 3, 31), monthly_sales=sales) == Decimal("10.0")
    # mid-month: 15 Mar counts 15 days of March: 300 / 600 x 15 = 7.5
    sales = {D(2026, 3, 1): Decimal("600")}
    assert kpis.count_back_dso(receivables=Decimal("300"), end=D(2026, 3, 15), monthly_sales=sales) == Decimal("7.5")
    # more open than all the sales given: not measurable
    assert kpis.count_back_dso(receivables=Decimal("700"), end=D(2026, 3, 15), monthly_sales=sales) is None


def amounts(buckets):
    return [(b["label"], b["amount"]) for b in buckets]


def test_aging_by_due_date_on_a_past_day(books):
    # days past due on 31 Mar: I4 not due; I3 28; I2 45; I5 71; I6 120 (paid since, open then)
    assert amounts(kpis.aging(on=END, basis="due")) == [
        ("Current", Decimal("4000.00")),
        ("1-30", Decimal("3000.00")),
        ("31-60", Decimal("1500.00")),
        ("61-90", Decimal("600.00")),
        ("91-120", Decimal("500.00")),
        (">120", Decimal("0.00")),
    ]


def test_aging_by_invoice_date_on_a_past_day(books):
    # days since the invoice on 31 Mar: I4 21; I3 58; I2 75; I5 101; I6 150
    assert amounts(kpis.aging(on=END, basis="invoice")) == [
        ("Current", Decimal("0.00")),
        ("1-30", Decimal("4000.00")),
        ("31-60", Decimal("3000.00")),
        ("61-90", Decimal("1500.00")),
        ("91-120", Decimal("600.00")),
        (">120", Decimal("500.00")),
    ]


def test_configurable_buckets(books, settings):
    settings.O2C_AGING_BUCKETS = [("Not due", None, 0), ("1-60", 1, 60), ("Over 60", 61, None)]
    assert amounts(kpis.aging(on=END)) == [
        ("Not due", Decimal("4000.00")),
        ("1-60", Decimal("4500.00")),  # I3 3000 + I2 1500
        ("Over 60", Decimal("1100.00")),  # I5 600 + I6 500
    ]


def test_drill_down_lists_the_invoices_behind_a_bucket(books):
    rows = kpis.invoices_in_bucket(on=END, basis="due", index=kpis.bucket_index("91-120"))
    assert [(i.number, i.open_on) for i in rows] == [("I6", Decimal("500.00"))]  # paid today, open then
    rows = kpis.invoices_in_bucket(on=END, basis="due", index=kpis.bucket_index("31-60"))
    assert [(i.number, i.open_on) for i in rows] == [("I2", Decimal("1500.00"))]
    rows = kpis.invoices_in_bucket(on=END, basis="invoice", index=kpis.bucket_index("1-30"))
    assert [(i.number, i.open_on) for i in rows] == [("I4", Decimal("4000.00"))]  # I7 was not issued yet


def test_segment_filter(books):
    scope = kpis.Scope(segment="retail")  # customer A: I2 1500 + I5 600
    assert kpis.receivables_on(on=END, scope=scope)["total"] == Decimal("2100.00")
    assert kpis.kpis(start=START, end=END, scope=scope).credit_sales == Decimal("2000.00")


def test_cycle_times(books):
    cycles = {c["key"]: c for c in kpis.cycle_times(start=START, end=END)}
    # order to ship of the shipments shipped in Q1: O2 7, O3 10, O4 8 days
    # median 8; p90 (linear) = 8 + 0.8 x (10 - 8) = 9.6
    ship = cycles["order_to_ship"]
    assert (ship["count"], ship["median"], ship["p90"]) == (3, Decimal("8.0"), Decimal("9.6"))
    assert {b["label"]: b["amount"] for b in ship["histogram"]}["8-14"] == 2  # 8 and 10
    # ship to invoice of the invoices issued in Q1: I2 3, I3 2, I4 1 -> median 2, p90 = 2 + 0.8 x 1 = 2.8
    invoice = cycles["ship_to_invoice"]
    assert (invoice["count"], invoice["median"], invoice["p90"]) == (3, Decimal("2.0"), Decimal("2.8"))
    # invoice to cash of the invoices paid in full in Q1: I1 20 Jan - 10 Dec = 41 days
    assert (cycles["invoice_to_cash"]["count"], cycles["invoice_to_cash"]["median"]) == (1, Decimal("41.0"))
    # order to cash: I1 20 Jan - order O1 1 Dec = 50 days
    assert (cycles["order_to_cash"]["count"], cycles["order_to_cash"]["median"]) == (1, Decimal("50.0"))


def test_cycle_drill_down(books):
    rows = kpis.cycle_samples(measure="order_to_ship", start=START, end=END)
    assert [(number, days) for number, _, days in rows] == [("S-O3", 10), ("S-O4", 8), ("S-O2", 7)]


def test_credit_hold_rate_and_time_on_hold(books):
    credit = kpis.credit_figures(start=START, end=END)
    # checked in Q1: O2 (held), O3 (approved), O4 (held) -> 2 / 3 x 100 = 66.7 %
    assert (credit.checked, credit.held, credit.hold_rate) == (3, 2, Decimal("66.7"))
    # on hold 4 h and 24 h: median 14, p90 = 4 + 0.9 x 20 = 22
    assert (credit.time_on_hold["median"], credit.time_on_hold["p90"]) == (Decimal("14.0"), Decimal("22.0"))
    assert credit.on_hold_now == 0
    assert [d.order.number for d in kpis.held_orders_in_period(start=START, end=END)] == ["O2", "O4"]


def test_nothing_sold_gives_no_dso():
    k = kpis.kpis(start=START, end=END)
    assert (k.dso, k.best_possible_dso, k.cei, k.current_share, k.countback_dso) == (
        None,
        None,
        None,
        None,
        Decimal("0.0"),
    )
