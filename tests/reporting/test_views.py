"""Report pages: permissions per role, figures with their definitions, drill-down to the documents,
CSV/XLSX export that reads back, and a query count that does not grow with the data."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from o2c import flow
from o2c.core import roles
from orders.services import LineInput
from reporting import kpis
from reporting.models import ArSnapshot
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.reporting.factories import make_invoice

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("reporting:dashboard")
# session, user, the user's and its groups' permissions, the roles in the top bar (5);
# filter choices; aging by due date; receivables at the start; how far the nightly daily totals
# reach; sales by month, invoices issued and cash (one); credit; the last order-quality refresh and
# the five quality KPIs (two); orders by status; trend snapshots (10)
DASHBOARD_QUERIES = 15
PAGES = [
    "reporting:dashboard",
    "reporting:credit",
    "reporting:receivables",
    "reporting:cycles",
    "reporting:forecast",
    "reporting:aging_invoices",
    "reporting:sales",
    "reporting:payments",
    "reporting:holds",
]


@pytest.fixture
def finance(staff, client):
    user = staff(roles.FINANCE_MANAGER)
    client.force_login(user)
    return user


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE)}  # once: staff() re-hashes a password


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", unit_price=Decimal("100.00"))  # 121.00 with tax
    stock(product, "10000")
    return product


def order(people, *, within_credit=True, segment=""):
    customer = CustomerFactory(segment=segment)
    if within_credit:
        credit_limit(customer, "1000000.00")
    return flow.submit_order(
        by=people["clerk"], customer_account=customer.account_number, lines=[LineInput("W-1", "1")]
    )


def count_queries(client, url=DASHBOARD) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


def test_anonymous_is_sent_to_login(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.FINANCE_MANAGER, set(PAGES)),
        (
            roles.CREDIT_MANAGER,
            {"reporting:credit", "reporting:forecast", "reporting:aging_invoices"}
            | {"reporting:sales", "reporting:payments", "reporting:holds"},
        ),
        (
            roles.AR_CLERK,
            {"reporting:receivables", "reporting:forecast", "reporting:aging_invoices"}
            | {"reporting:sales", "reporting:payments"},
        ),
        (roles.ORDER_CLERK, set()),
    ],
)
def test_each_role_sees_its_views(client, staff, role, allowed):
    client.force_login(staff(role))
    for name in PAGES:
        status = client.get(reverse(name)).status_code
        assert status == (200 if name in allowed else 403), (name, status)


def test_figures_with_their_definitions(client, finance, people, widget):
    today = timezone.localdate()
    shipped = [flow.ship(order=order(people), by=people["warehouse"]) for _ in range(3)]  # 3 x 121.00 invoiced
    flow.receive_payment(invoice=shipped[0], amount=Decimal("121.00"), value_date=today, by=finance)
    flow.receive_payment(invoice=shipped[1], amount=Decimal("21.00"), value_date=today, by=finance)
    order(people, within_credit=False)  # held
    order(people)  # approved, not shipped

    response = client.get(DASHBOARD)  # default period: the last 90 days up to today

    o = response.context["o"]
    assert o.kpis.receivables_end == Decimal("221.00")  # 363.00 invoiced - 142.00 paid
    assert o.kpis.overdue_end == Decimal("0.00")
    assert o.kpis.credit_sales == Decimal("363.00")
    assert o.kpis.dso == Decimal("54.8")  # 221 / 363 x 90 = 54.79
    assert o.kpis.best_possible_dso == Decimal("54.8")  # all current
    assert o.kpis.average_days_delinquent == Decimal("0.0")
    assert o.kpis.cei == Decimal("100.0")  # (0 + 363 - 221) / (0 + 363 - 221) x 100
    assert o.cash_received == Decimal("142.00")
    assert (o.credit.checked, o.credit.held, o.credit.on_hold_now) == (5, 1, 1)
    assert o.credit.hold_rate == Decimal("20.0")  # 1 / 5 x 100
    html = response.content.decode()
    assert "54.8 days" in html
    assert kpis.DEFINITIONS["dso"] in html and kpis.DEFINITIONS["cei"] in html
    assert "221.00 EUR ÷ 363.00 EUR × 90" in html
    assert "<svg" in html and "Current" in html
    assert "Promise-kept rate" in html  # listed as not yet available
    assert "No figures yet" not in html


def test_empty_state(client, finance):
    html = client.get(DASHBOARD).content.decode()
    assert "No figures yet" in html


def test_filters_by_segment_and_bad_dates_are_named(client, finance, people, widget):
    flow.ship(order=order(people, segment="retail"), by=people["warehouse"])
    flow.ship(order=order(people, segment="public"), by=people["warehouse"])
    o = client.get(DASHBOARD, {"segment": "retail"}).context["o"]
    assert o.kpis.receivables_end == Decimal("121.00")
    response = client.get(DASHBOARD, {"period": "custom", "start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 200
    assert "The last day must be on or after the first." in response.content.decode()
    assert response.context["o"].kpis.receivables_end == Decimal("242.00")  # fell back to the default period


def test_query_count_does_not_grow_with_rows(client, finance, people, widget):
    flow.ship(order=order(people), by=people["warehouse"])
    one = count_queries(client)
    for _ in range(19):
        flow.ship(order=order(people), by=people["warehouse"])
    twenty = count_queries(client)
    assert client.get(DASHBOARD).context["o"].kpis.credit_sales == Decimal("2420.00")
    assert one == twenty == DASHBOARD_QUERIES


def test_drill_down_pages_keep_their_query_count(client, finance, people, widget):
    flow.ship(order=order(people), by=people["warehouse"])
    urls = [reverse(name) for name in PAGES if name != "reporting:dashboard"]
    before = [count_queries(client, url) for url in urls]
    for _ in range(10):
        flow.ship(order=order(people), by=people["warehouse"])
    assert [count_queries(client, url) for url in urls] == before


def test_bucket_drill_down_and_exports_read_back(client, finance):
    today = timezone.localdate()
    customer = CustomerFactory(name="=HYPERLINK Trading")  # a name a spreadsheet would run
    days = datetime.timedelta
    for number, overdue in [("R-1", 61), ("R-2", 75), ("R-3", 90), ("R-4", 91), ("R-5", 10)]:
        due = today - days(overdue)
        make_invoice(number, customer, issued=due - days(30), due=due, total="121.00")
    index = kpis.bucket_index("61-90")
    url = reverse("reporting:aging_invoices")

    response = client.get(url, {"bucket": index})
    numbers = [i.number for i in response.context["page"].rows]
    assert numbers == ["R-3", "R-2", "R-1"]  # oldest due first

    xlsx = client.get(url, {"bucket": index, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Invoice"
    assert [row[0] for row in rows[1:]] == numbers
    assert {cell.data_type for cell in sheet["B"][1:]} == {"s"}  # text, never run as a formula
    assert [Decimal(str(row[7])) for row in rows[1:]] == [Decimal("121.00")] * 3

    exported = client.get(url, {"bucket": index, "format": "csv"}).content.decode("utf-8-sig")
    assert [row[0] for row in list(csv.reader(io.StringIO(exported)))[1:]] == numbers


def test_every_table_exports(client, finance, people, widget):
    flow.ship(order=order(people), by=people["warehouse"])
    for name in PAGES:
        for file_format in ("csv", "xlsx"):
            response = client.get(reverse(name), {"format": file_format})
            assert response.status_code == 200, name
            assert "attachment" in response["Content-Disposition"], name


def test_cycle_drill_down_and_unknown_measure(client, finance, people, widget):
    flow.ship(order=order(people), by=people["warehouse"])
    response = client.get(reverse("reporting:cycle_documents", args=["order_to_ship"]))
    assert response.status_code == 200 and len(response.context["rows"]) == 1
    assert client.get(reverse("reporting:cycle_documents", args=["nope"])).status_code == 404
    assert client.get(reverse("reporting:aging_invoices"), {"bucket": "99"}).status_code == 404


def test_receivables_before_the_period_come_from_that_nights_snapshot(client, finance, people, widget):
    """With the nightly snapshot of the day before the period (taken after that day ended), the
    dashboard reads the opening receivables from it: one ledger query less, same count as data grows."""
    flow.ship(order=order(people), by=people["warehouse"])
    before_start = timezone.localdate() - datetime.timedelta(days=90)  # default period: the last 90 days
    ArSnapshot.objects.create(
        taken_on=before_start, open_total=Decimal("500.00"), overdue_total=0, open_invoices=3, current_total=0
    )
    one = count_queries(client)
    flow.ship(order=order(people), by=people["warehouse"])
    assert count_queries(client) == one == DASHBOARD_QUERIES - 1
    k = client.get(DASHBOARD).context["k"]
    assert k.receivables_start == Decimal("500.00")
    assert k.cei == Decimal("100.0")  # (500 + 242 - 242) / (500 + 242 - 242 current) x 100


@pytest.mark.parametrize(
    ("role", "link"),
    [(roles.CREDIT_MANAGER, "reporting:credit"), (roles.AR_CLERK, "reporting:receivables")],
)
def test_credit_manager_and_ar_clerk_find_their_report_in_the_navigation(client, staff, role, link):
    client.force_login(staff(role))
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse(link)}"' in html
