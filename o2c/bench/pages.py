"""Pages: server time and query count of every main staff and portal page, in-process through
django.test.Client (no network), at the database's size.

    python manage.py generate_dataset --invoices 1000000   # once: the large size
    python manage.py bench pages --json pages.json

On a database holding a generated dataset (1,000 issued invoices or more) it measures that
data; otherwise it generates one of --scale x 1,000,000 invoices (at least 500) inside a
transaction that is rolled back afterwards. For the staff list pages the floor is the Django
floor of PERFORMANCE.md for the same row count: the same 50 rows (same order, customer joined)
rendered by a bare Django template. Target: within 2x."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invoicing.models import Invoice
from o2c import dataset
from o2c.bench.common import Figure, measured_then_rolled_back, require_postgresql, role_group, timed
from o2c.core import roles
from orders.models import Customer, SalesOrder
from portal.models import PortalAccess

RUNS = 5
PAGE = 50
FLOOR_TEMPLATE = Template(
    "<table>{% for row in rows %}<tr><td>{{ row.a }}</td><td>{{ row.b }}</td><td>{{ row.c }}</td>"
    "<td>{{ row.d }}</td><td>{{ row.e }}</td></tr>{% endfor %}</table>"
)


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    if Invoice.objects.exclude(status="draft").count() >= 1_000:
        return _measure({"data": "the database's own (generated) dataset"})
    size = max(500, int(1_000_000 * scale))
    return measured_then_rolled_back(
        lambda: dataset.generate(invoices=size, seed=5, log=lambda *args: None) and {"data": f"generated {size}"},
        _measure,
    )


def _floor(rows) -> float:
    """Milliseconds to fetch the rows and render them with a bare template (the Django floor)."""
    return min(timed(lambda: FLOOR_TEMPLATE.render(Context({"rows": list(rows())})), runs=RUNS))


def _staff_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-pages-staff")
    names = [
        roles.ORDER_CLERK,
        roles.BILLING_CLERK,
        roles.AR_CLERK,
        roles.CREDIT_MANAGER,
        roles.FINANCE_MANAGER,
        roles.WAREHOUSE,
    ]
    user.groups.add(*(role_group(name) for name in names))
    client = Client()
    client.force_login(user)
    return client


def _portal_client(customer_id: int) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=f"bench-pages-portal-{customer_id}")
    user.groups.add(role_group(roles.CUSTOMER))
    PortalAccess.objects.get_or_create(user=user, defaults={"customer_id": customer_id})
    client = Client()
    client.force_login(user)
    return client


def _page(client: Client, name: str, url: str, floor: float | None = None, extra=None) -> Figure:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return Figure(
        f"pages.{name}",
        "ms",
        timed(lambda: client.get(url), runs=RUNS),
        floor=floor,
        target="within 2x the Django floor for the same rows" if floor else "",
        extra={"url": url, "queries": len(queries), **(extra or {})},
    )


def _measure(sizes: dict) -> list[Figure]:
    invoice = Invoice.objects.filter(kind="invoice", status="issued").order_by("-id").first()
    order = SalesOrder.objects.filter(pk=invoice.order_id).first() or SalesOrder.objects.order_by("-id").first()
    customer_id = invoice.customer_id
    facts = {
        **sizes,
        "invoices": Invoice.objects.count(),
        "customers": Customer.objects.count(),
        "orders": SalesOrder.objects.count(),
    }
    staff = _staff_client()

    def invoices():
        for i in Invoice.objects.select_related("customer").order_by("-issue_date", "-id")[:PAGE]:
            yield {"a": i.number, "b": i.customer.name, "c": i.issue_date, "d": i.total, "e": i.get_status_display()}

    def orders():
        for o in SalesOrder.objects.select_related("customer").order_by("-order_date", "-id")[:PAGE]:
            yield {"a": o.number, "b": o.customer.name, "c": o.order_date, "d": o.total, "e": o.get_status_display()}

    def customers():
        for c in Customer.objects.order_by("name")[:PAGE]:
            yield {"a": c.account_number, "b": c.name, "c": c.city, "d": c.segment, "e": c.country}

    def open_items():
        rows = Invoice.objects.filter(status="issued", amount_open__gt=0).select_related("customer")
        for i in rows.order_by("due_date", "id")[:PAGE]:
            yield {"a": i.number, "b": i.customer.name, "c": i.due_date, "d": i.total, "e": i.amount_open}

    figures = [
        _page(staff, "staff.invoice_list", "/invoices/", _floor(invoices), facts),
        _page(staff, "staff.order_list", "/orders/", _floor(orders)),
        _page(staff, "staff.customer_list", "/orders/customers/", _floor(customers)),
        _page(staff, "staff.open_items", "/receivables/", _floor(open_items)),
        _page(staff, "staff.open_items_overdue", "/receivables/?overdue=1"),
        _page(staff, "staff.customer_search", "/orders/customers/?q=Nova"),
        _page(staff, "staff.invoice_search", "/invoices/?customer=Nova"),
        _page(staff, "staff.invoice_detail", f"/desk/invoices/{invoice.pk}/"),
        _page(staff, "staff.order_detail", f"/desk/orders/{order.pk}/"),
        _page(staff, "staff.credit_profile", f"/credit/customers/{customer_id}/"),
        _page(staff, "staff.cash_queue", "/desk/cash/"),
        _page(staff, "staff.shipping_queue", "/shipping/"),
        _page(staff, "staff.reports_dashboard", "/reports/"),
        _page(staff, "staff.reports_receivables", "/reports/receivables/"),
        _page(staff, "staff.reports_cycle_times", "/reports/cycle-times/"),
        _page(staff, "staff.reports_cash_forecast", "/reports/cash-forecast/"),
    ]
    portal = _portal_client(customer_id)
    figures += [
        _page(portal, "portal.home", "/portal/"),
        _page(portal, "portal.invoices", "/portal/invoices/"),
        _page(portal, "portal.invoice_detail", f"/portal/invoices/{invoice.pk}/"),
        _page(portal, "portal.statement", "/portal/statement/"),
        _page(portal, "portal.payments", "/portal/payments/"),
        _page(portal, "portal.orders", "/portal/orders/"),
    ]
    return figures
