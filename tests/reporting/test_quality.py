"""Quality KPIs on small hand-computed datasets; every expected figure is written out with its
formula. The period is Q1 2026: 1 Jan - 31 Mar 2026. Rows are created directly (the services that
fill disputes, promises and dunning belong to other stages)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from fulfillment.models import DeliveryDiscrepancy, ProofOfDelivery, Shipment, ShipmentLine
from invoicing.models import BankAccount, Invoice
from orders.models import SalesOrder, SalesOrderLine
from receivables.models import (
    BankStatement,
    Dispute,
    DunningItem,
    DunningLetter,
    DunningLevel,
    DunningProcedure,
    DunningRun,
    PromiseToPay,
    StatementLine,
)
from reporting import quality, services
from reporting.models import OrderQuality
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.reporting.factories import at, make_invoice, pay

pytestmark = pytest.mark.django_db

D = datetime.date
START, END = D(2026, 1, 1), D(2026, 3, 31)
ON = D(2026, 3, 31)  # "today" for dunning windows


# --- perfect order ------------------------------------------------------------------------------------
def order_with(customer, product, number, *, quantities, requested=None):
    order = SalesOrder.objects.create(
        number=number,
        customer=customer,
        status=SalesOrder.Status.COMPLETED,
        order_date=D(2025, 12, 1),
        requested_date=requested,
        currency="EUR",
    )
    lines = [
        SalesOrderLine.objects.create(
            order=order,
            line_number=n,
            product=product,
            description="Widget",
            quantity=Decimal(q),
            unit_price=Decimal("1.00"),
            tax_rate=Decimal("0"),
            net_amount=Decimal(q),
            tax_amount=Decimal("0"),
        )
        for n, q in enumerate(quantities, start=1)
    ]
    return order, lines


_shipments = iter(range(1, 1000))


def ship(customer, day, *line_quantities):
    shipment = Shipment.objects.create(
        number=f"SH-{next(_shipments)}",
        customer=customer,
        status=Shipment.Status.SHIPPED,
        ship_to="Dock 1",
        shipped_at=at(day),
    )
    shipment_lines = [
        ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal(q))
        for line, q in line_quantities
    ]
    return shipment, shipment_lines


@pytest.fixture
def orders():
    """
    order  requested   shipments (day: quantities)        POD             invoice        -> on time complete undamaged right
    P1     20 Jan      15 Jan: 5 of 5, 2 of 2             -               clean          ->  yes     yes      yes       yes  PERFECT
    P2     10 Feb      12 Feb: 5 of 5                     -               clean          ->  NO      yes      yes       yes
    P3     none        1 Mar: 6 of 10; 5 Mar: 4           -               -              ->  yes     NO       yes       yes
    P4     31 Mar      1 Mar: 5 of 5                      1 damaged       -              ->  yes     yes      NO        yes
    P5     31 Mar      2 Mar: 5 of 5                      -               credit note    ->  yes     yes      yes       NO
    P6     -           20 Dec 2025: 5 of 5 (before the period: not counted)
    P7     31 Mar      3 Mar: 3 of 5 (one shipment, short) -              dispute        ->  yes     NO       yes       NO
    """
    c = CustomerFactory(name="Delta BV")
    w = ProductFactory()
    p1, (l1a, l1b) = order_with(c, w, "P1", quantities=["5", "2"], requested=D(2026, 1, 20))
    ship(c, D(2026, 1, 15), (l1a, "5"), (l1b, "2"))
    make_invoice("IP1", c, issued=D(2026, 1, 15), due=D(2026, 2, 14), total="7", order=p1)
    p2, (l2,) = order_with(c, w, "P2", quantities=["5"], requested=D(2026, 2, 10))
    ship(c, D(2026, 2, 12), (l2, "5"))
    make_invoice("IP2", c, issued=D(2026, 2, 12), due=D(2026, 3, 14), total="5", order=p2)
    _, (l3,) = order_with(c, w, "P3", quantities=["10"])
    ship(c, D(2026, 3, 1), (l3, "6"))
    ship(c, D(2026, 3, 5), (l3, "4"))
    _, (l4,) = order_with(c, w, "P4", quantities=["5"], requested=D(2026, 3, 31))
    s4, (sl4,) = ship(c, D(2026, 3, 1), (l4, "5"))
    pod = ProofOfDelivery.objects.create(shipment=s4, signer_name="J. Doe", signed_at=at(D(2026, 3, 2)))
    DeliveryDiscrepancy.objects.create(proof=pod, shipment_line=sl4, kind="damaged", quantity=Decimal("1"))
    p5, (l5,) = order_with(c, w, "P5", quantities=["5"], requested=D(2026, 3, 31))
    ship(c, D(2026, 3, 2), (l5, "5"))
    i5 = make_invoice("IP5", c, issued=D(2026, 3, 2), due=D(2026, 4, 1), total="5", order=p5)
    credit_note("CNP5", i5, D(2026, 3, 10), "2", "Wrong price")
    _, (l6,) = order_with(c, w, "P6", quantities=["5"])
    ship(c, D(2025, 12, 20), (l6, "5"))
    p7, (l7,) = order_with(c, w, "P7", quantities=["5"], requested=D(2026, 3, 31))
    ship(c, D(2026, 3, 3), (l7, "3"))
    i7 = make_invoice("IP7", c, issued=D(2026, 3, 3), due=D(2026, 4, 2), total="3", order=p7)
    Dispute.objects.create(invoice=i7, customer=c, reason="quantity", amount=Decimal("1"))


@pytest.fixture(params=["live", "refreshed"])
def stored(request, orders):
    """Every perfect-order figure must read the same worked out live (no refresh yet) and from the
    OrderQuality table after a refresh."""
    if request.param == "refreshed":
        refresh = services.refresh_order_quality()
        assert (refresh.full, refresh.orders) == (True, 7)  # P1..P7, P6 too (it counts in December)
        assert OrderQuality.objects.count() == 7
    return request.param


def test_perfect_order_rate(stored):
    p = quality.perfect_orders(start=START, end=END)
    assert p.orders == 6  # P1, P2, P3, P4, P5, P7 (P6 first shipped in December)
    assert p.on_time == 5  # all but P2 (shipped 12 Feb, asked for 10 Feb)
    assert p.complete == 4  # P1, P2, P4, P5: one shipment with everything (P3 came in two, P7 short)
    assert p.undamaged == 5  # all but P4
    assert p.invoiced_right == 4  # all but P5 (credit note) and P7 (dispute)
    assert p.perfect == 1  # P1
    assert p.rate == Decimal("16.7")  # 1 / 6 x 100 = 16.67
    assert p.share("on_time") == Decimal("83.3")  # 5 / 6 x 100


def test_perfect_order_drill_down_lists_imperfect_first(stored):
    rows = quality.perfect_order_rows(start=START, end=END)
    assert [r[0] for r in rows] == ["P2", "P3", "P4", "P5", "P7", "P1"]  # imperfect by first ship day, then P1
    p2 = rows[0]
    assert p2[5:] == (False, True, True, True)  # late, complete, undamaged, invoiced right


def test_an_order_touched_after_the_refresh_counts_at_once_and_is_stored_by_the_next(orders):
    services.refresh_order_quality()
    p1 = OrderQuality.objects.get(order__number="P1")
    assert p1.invoiced_right and quality.perfect_orders(start=START, end=END).perfect == 1
    # A dispute opened now on P1's invoice: the figure sees it before any refresh ...
    Dispute.objects.create(invoice=Invoice.objects.get(number="IP1"), customer=p1.customer, reason="price", amount=1)
    p = quality.perfect_orders(start=START, end=END)
    assert (p.orders, p.invoiced_right, p.perfect) == (6, 3, 0)  # P1 no longer invoiced right: nothing perfect
    assert OrderQuality.objects.get(order__number="P1").invoiced_right  # ... the table does not yet
    # ... and the next refresh works out only what was touched since the last one, less the margin (an
    # hour): P1 and the orders whose dispute (P7) and credit note (P5) the fixture recorded just now.
    refresh = services.refresh_order_quality()
    assert (refresh.full, refresh.orders) == (False, 3)
    assert not OrderQuality.objects.get(order__number="P1").invoiced_right
    assert quality.perfect_orders(start=START, end=END).perfect == 0


def test_a_full_refresh_stores_the_same_as_the_incremental_ones(orders):
    services.refresh_order_quality()
    ship_day = D(2026, 3, 20)
    customer = OrderQuality.objects.get(order__number="P1").customer
    p8, (l8,) = order_with(customer, ProductFactory(), "P8", quantities=["1"], requested=ship_day)
    ship(customer, ship_day, (l8, "1"))
    Shipment.objects.filter(number=f"SH-{next(_shipments) - 1}").update(shipped_at=timezone.now())  # left just now
    services.refresh_order_quality()
    incremental = set(OrderQuality.objects.values_list(*FLAG_COLUMNS))
    assert services.refresh_order_quality(full=True).full
    assert set(OrderQuality.objects.values_list(*FLAG_COLUMNS)) == incremental
    assert len(incremental) == 8


FLAG_COLUMNS = ("order__number", "first_shipped", "shipments", "on_time", "complete", "undamaged", "invoiced_right")


def credit_note(number, invoice, issued, total, reason, *, status=Invoice.Status.PAID):
    total = Decimal(total)
    return Invoice.objects.create(
        number=None if status == Invoice.Status.DRAFT else number,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        customer=invoice.customer,
        status=status,
        currency="EUR",
        bill_to=invoice.customer.name,
        payment_terms="-",
        issue_date=None if status == Invoice.Status.DRAFT else issued,
        due_date=None if status == Invoice.Status.DRAFT else issued,
        net_amount=total,
        tax_amount=Decimal("0"),
        total=total,
        amount_open=Decimal("0"),
        reason=reason,
    )


# --- invoice errors -----------------------------------------------------------------------------------
@pytest.fixture
def errors():
    """
    J1..J10 issued in Q1 (J11 on 15 Dec 2025, outside):
    J1   credit note "Wrong price"                                  -> error
    J2   credit note "Wrong price" + dispute (quantity)             -> error (2 documents, 1 invoice)
    J3   dispute (damaged), resolved by credit note "Damaged goods" -> error (counted once, as the dispute)
    J4   a DRAFT credit note                                        -> no error
    J11  credit note "Wrong price" (invoice of December)            -> not in the period
    """
    c = CustomerFactory(name="Epsilon SA")
    j = {n: make_invoice(f"J{n}", c, issued=D(2026, 1, n), due=D(2026, 2, n), total="100") for n in range(1, 11)}
    j[11] = make_invoice("J11", c, issued=D(2025, 12, 15), due=D(2026, 1, 14), total="100")
    credit_note("CN1", j[1], D(2026, 1, 20), "10", "Wrong price")
    credit_note("CN2", j[2], D(2026, 1, 21), "10", "Wrong price")
    Dispute.objects.create(invoice=j[2], customer=c, reason="quantity", amount=Decimal("20"))
    cn3 = credit_note("CN3", j[3], D(2026, 2, 1), "30", "Damaged goods")
    Dispute.objects.create(
        invoice=j[3], customer=c, reason="damaged", amount=Decimal("30"), status="resolved", credit_note=cn3
    )
    credit_note("", j[4], None, "5", "Typo", status=Invoice.Status.DRAFT)
    credit_note("CN11", j[11], D(2026, 1, 5), "10", "Wrong price")
    return c


def test_invoice_error_rate_by_reason(errors):
    e = quality.invoice_errors(start=START, end=END)
    assert e.invoices == 10  # J1..J10
    assert e.with_errors == 3  # J1, J2, J3
    assert e.rate == Decimal("30.0")  # 3 / 10 x 100
    assert e.errors == 4  # CN1, CN2, dispute on J2, dispute on J3 (CN3 resolved it: not counted again)
    assert e.per_invoice == Decimal("40.0")  # 4 documents / 10 invoices x 100
    assert [(r["label"], r["count"], r["rate"]) for r in e.by_reason] == [
        ("Credit note: Wrong price", 2, Decimal("20.0")),  # 2 / 10 x 100
        ("Dispute: Damaged goods", 1, Decimal("10.0")),
        ("Dispute: Quantity", 1, Decimal("10.0")),
    ]
    assert [r[0] for r in quality.invoice_error_rows(start=START, end=END)] == [
        "CN1",
        "CN2",
        *sorted(f"Dispute #{d.pk}" for d in Dispute.objects.all()),
    ]


def test_segment_filter_leaves_other_customers_out(errors):
    errors.segment = "retail"
    errors.save()
    other = quality.invoice_errors(start=START, end=END, scope=quality.Scope(segment="wholesale"))
    assert (other.invoices, other.errors, other.rate) == (0, 0, None)


# --- auto-match ---------------------------------------------------------------------------------------
def test_auto_match_rate():
    """
    line  booked    amount  status      matched by  -> counted  automatic
    L1    5 Jan     100     matched     nobody         yes      yes
    L2    6 Jan     200     matched     nobody         yes      yes
    L3    7 Feb     300     matched     nobody         yes      yes
    L4    8 Feb     400     matched     a clerk        yes      no
    L5    9 Mar     500     unmatched   -              yes      no
    L6    10 Mar    600     suggested   -              yes      no
    L7    11 Mar    700     ignored     -              no (not customer cash)
    L8    12 Mar    -50     unmatched   -              no (money out)
    L9    2 Apr     100     matched     nobody         no (after the period)
    auto-match rate = 3 / 6 x 100 = 50.0 %
    """
    clerk = get_user_model().objects.create(username="cash-clerk")
    account = BankAccount.objects.create(name="Main", iban="BE71096123456769", currency="EUR")
    statement = BankStatement.objects.create(
        bank_account=account, statement_key="S1", format="csv", file_sha256="0" * 64, currency="EUR"
    )
    rows = [
        (D(2026, 1, 5), "100", "matched", None),
        (D(2026, 1, 6), "200", "matched", None),
        (D(2026, 2, 7), "300", "matched", None),
        (D(2026, 2, 8), "400", "matched", clerk),
        (D(2026, 3, 9), "500", "unmatched", None),
        (D(2026, 3, 10), "600", "suggested", None),
        (D(2026, 3, 11), "700", "ignored", None),
        (D(2026, 3, 12), "-50", "unmatched", None),
        (D(2026, 4, 2), "100", "matched", None),
    ]
    for n, (day, amount, status, by) in enumerate(rows, start=1):
        StatementLine.objects.create(
            statement=statement,
            bank_account=account,
            dedupe_key=f"ref:{n}",
            position=n,
            booking_date=day,
            value_date=day,
            amount=Decimal(amount),
            currency="EUR",
            status=status,
            matched_by=by,
        )
    m = quality.auto_match(start=START, end=END)
    assert (m.lines, m.automatic, m.by_person, m.open) == (6, 3, 1, 2)
    assert m.rate == Decimal("50.0")
    assert len(quality.auto_match_rows(start=START, end=END)) == 6


# --- promises -------------------------------------------------------------------------------------------
def test_promise_kept_rate():
    """Due in Q1: kept 3, broken 1, open 1, cancelled 1 (+ one kept due in April, outside).
    promise-kept rate = 3 / (3 + 1) x 100 = 75.0 %"""
    c = CustomerFactory()
    for day, status in [
        (D(2026, 1, 10), "kept"),
        (D(2026, 2, 10), "kept"),
        (D(2026, 3, 10), "kept"),
        (D(2026, 3, 11), "broken"),
        (D(2026, 3, 30), "open"),
        (D(2026, 2, 1), "cancelled"),
        (D(2026, 4, 10), "kept"),
    ]:
        PromiseToPay.objects.create(customer=c, promised_date=day, amount=Decimal("50"), currency="EUR", status=status)
    p = quality.promises(start=START, end=END)
    assert (p.kept, p.broken, p.open) == (3, 1, 1)
    assert p.rate == Decimal("75.0")
    assert len(quality.promise_rows(start=START, end=END)) == 6


# --- dunning effectiveness ---------------------------------------------------------------------------------
@pytest.fixture
def dunning():
    """Window N = 14 days: paid in full by payments valued from the letter's day to 14 days after.
    letter  sent     level  item amount  paid (value date)              -> counted  paid in time
    A       10 Jan   1      K1  100      100 on 20 Jan (10 days)           yes      yes
    A       10 Jan   1      K2  200      200 on 30 Jan (20 days)           yes      no
    B       15 Feb   1      K3  300      100 on 20 Feb (part)              yes      no
    C       1 Mar    2      K4  400      400 on 14 Mar (13 days)           yes      yes
    C       1 Mar    2      K5  150      150 on 15 Mar (14 days: the last)  yes      yes
    D       25 Mar   2      K6   50      -  (window to 8 Apr, not over on 31 Mar) waiting
    E       not sent 1      K7   70      -                                 no
    level 1: 1 / 3 x 100 = 33.3 %;  level 2: 2 / 2 x 100 = 100.0 %, 1 waiting
    """
    c = CustomerFactory(name="Zeta AG")
    k = {n: make_invoice(f"K{n}", c, issued=D(2025, 11, n), due=D(2025, 12, n), total="1000") for n in range(1, 8)}
    procedure = DunningProcedure.objects.create(code="STD", name="Standard")
    first = DunningLevel.objects.create(
        procedure=procedure, level=1, name="First reminder", days_overdue=10, letter_text="-"
    )
    final = DunningLevel.objects.create(
        procedure=procedure, level=2, name="Final notice", days_overdue=60, letter_text="-"
    )
    run = DunningRun.objects.create(run_date=D(2026, 1, 10))

    def letter(sent, level, *items):
        customer = CustomerFactory()  # one letter per customer and run
        letter = DunningLetter.objects.create(
            run=run,
            customer=customer,
            level=level,
            currency="EUR",
            total_overdue=Decimal("1"),
            status="sent" if sent else "planned",
            sent_at=at(sent) if sent else None,
        )
        for invoice, amount in items:
            DunningItem.objects.create(
                letter=letter, invoice=invoice, level=level, days_overdue=40, amount=Decimal(amount)
            )

    letter(D(2026, 1, 10), first, (k[1], "100"), (k[2], "200"))
    letter(D(2026, 2, 15), first, (k[3], "300"))
    letter(D(2026, 3, 1), final, (k[4], "400"), (k[5], "150"))
    letter(D(2026, 3, 25), final, (k[6], "50"))
    letter(None, first, (k[7], "70"))
    pay(k[1], "100", D(2026, 1, 20))
    pay(k[2], "200", D(2026, 1, 30))
    pay(k[3], "100", D(2026, 2, 20))
    pay(k[4], "400", D(2026, 3, 14))
    pay(k[5], "150", D(2026, 3, 15))


def test_dunning_effectiveness_per_level(dunning, settings):
    settings.O2C_DUNNING_EFFECTIVENESS_DAYS = 14
    levels = quality.dunning_effectiveness(start=START, end=END, on=ON)
    assert [(r["level"], r["items"], r["paid"], r["waiting"], r["rate"]) for r in levels] == [
        (1, 3, 1, 0, Decimal("33.3")),  # K1 of K1, K2, K3
        (2, 2, 2, 1, Decimal("100.0")),  # K4, K5; K6 still inside its 14 days
    ]
    rows = quality.dunning_rows(start=START, end=END, on=ON)
    assert [(r[0], r[6]) for r in rows] == [
        ("K1", "paid in time"),
        ("K2", "not paid in time"),
        ("K3", "not paid in time"),
        ("K4", "paid in time"),
        ("K5", "paid in time"),
        ("K6", "within the window"),
    ]


def test_a_shorter_window_changes_the_figure(dunning, settings):
    settings.O2C_DUNNING_EFFECTIVENESS_DAYS = 10  # K1 paid on day 10: still in; K4 (13) and K5 (14) now late
    levels = quality.dunning_effectiveness(start=START, end=END, on=ON)
    assert [(r["level"], r["paid"], r["rate"]) for r in levels] == [(1, 1, Decimal("33.3")), (2, 0, Decimal("0.0"))]


def test_all_five_in_one_query_after_the_refresh_moment(orders, errors, dunning, django_assert_num_queries):
    with django_assert_num_queries(2):  # the last order-quality refresh's moment, then all five at once
        q = quality.quality_figures(start=START, end=END, on=ON, invoices_issued=14)
    assert q.perfect_orders.rate == Decimal("16.7")
    assert q.invoice_errors.with_errors == 5  # J1, J2, J3, IP5 (its credit note) and IP7 (its dispute)
    assert q.invoice_errors.rate == Decimal("35.7")  # 5 / 14 (J1..J10, IP1, IP2, IP5, IP7) x 100 = 35.71
    assert q.promises.rate is None  # nothing decided: no rate rather than 0 %
    assert [r["level"] for r in q.dunning] == [1, 2]
