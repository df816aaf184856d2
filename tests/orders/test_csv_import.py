"""CSV order import: a 1,000-order file with 3 bad rows is previewed with each problem's line,
column and reason; nothing is saved until the clerk chooses to import the good orders only;
each order is all-or-nothing; broken files import nothing and say why; a big file runs in a
real Celery worker with a polled progress bar."""

import csv
import io
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from o2c import flow
from orders import imports
from orders.models import OrderImport, SalesOrder
from tests.core.factories import CLERK
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.worker import celery_worker_process  # noqa: F401, F811  (a fixture, used by name)

UPLOAD = reverse("desk:order_import_upload")
HEADER = ["order_key", "customer_account", "sku", "quantity", "customer_po", "requested_date", "notes"]


@pytest.fixture
def clerk(staff, client):
    user = staff(CLERK)
    client.force_login(user)
    return user


@pytest.fixture
def catalogue():
    customers = [CustomerFactory(account_number=f"IMP{n:03d}") for n in range(10)]
    for customer in customers:
        credit_limit(customer, "100000000.00")
    products = [ProductFactory(sku=f"P-{n}", unit_price=Decimal("4.00")) for n in range(4)]
    for product in products:
        stock(product, "1000000")
    return customers, products


def order_file(orders: int, *, bad: dict[int, tuple[str, str]] | None = None) -> tuple[bytes, dict]:
    """`orders` orders, every third one with two lines. `bad` maps an order index to (column,
    bad value) put in that order's LAST row. Returns the bytes and {order index: file line of
    the bad row}."""
    bad = bad or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    line, bad_lines = 1, {}
    for n in range(orders):
        rows = [
            {"order_key": f"K{n:04d}", "customer_account": f"IMP{n % 10:03d}", "sku": f"P-{n % 4}", "quantity": "2",
             "customer_po": f"PO-{n}", "requested_date": "2099-01-15", "notes": "from the shop"}
        ]  # fmt: skip
        if n % 3 == 0:
            rows.append({**rows[0], "sku": f"P-{(n + 1) % 4}", "quantity": "1.5"})
        if n in bad:
            column, value = bad[n]
            rows[-1][column] = value
        for row in rows:
            line += 1
            writer.writerow([row[c] for c in HEADER])
        if n in bad:
            bad_lines[n] = line
    return out.getvalue().encode(), bad_lines


def upload(client, data: bytes, name: str = "orders.csv"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


BAD = {7: ("sku", "NOPE-1"), 300: ("quantity", "two"), 998: ("customer_account", "IMP999")}


@pytest.mark.slow  # about a minute: 997 orders through the flow
@pytest.mark.django_db
def test_thousand_orders_three_bad_rows_imports_the_good_ones_only_when_chosen(client, clerk, catalogue, settings):
    settings.O2C_IMPORT_INLINE_MAX_ORDERS = 5000  # this test imports in the request; the worker test below does not
    data, bad_lines = order_file(1000, bad=BAD)

    response = upload(client, data)
    assert response.status_code == 302
    order_import = OrderImport.objects.get()
    assert response.url == reverse("desk:order_import", args=[order_import.pk])
    assert SalesOrder.objects.count() == 0  # a preview saves no order

    # the preview names the 3 rows: line number, column and reason
    assert order_import.order_count == 1000
    assert order_import.bad_order_count == 3
    assert sorted((p[0], p[1], p[3]) for p in order_import.problems) == [
        (bad_lines[7], "sku", "K0007"),
        (bad_lines[300], "quantity", "K0300"),
        (bad_lines[998], "customer_account", "K0998"),
    ]
    reasons = {p[1]: p[2] for p in order_import.problems}
    assert reasons["sku"] == "unknown product 'NOPE-1'"
    assert reasons["quantity"] == "'two' is not a number"
    assert reasons["customer_account"] == "no customer with account number 'IMP999'"
    page = client.get(response.url).content.decode()
    for n in BAD:
        assert f'<td class="num">{bad_lines[n]}</td>' in page
    assert "Import the 997 good orders only" in page

    # importing without choosing "good orders only" is refused and saves nothing
    confirm = reverse("desk:order_import_confirm", args=[order_import.pk])
    refused = client.post(confirm, {"action": "import"})
    assert refused.status_code == 422
    assert "choose to import the good orders only" in refused.content.decode()
    assert SalesOrder.objects.count() == 0
    order_import.refresh_from_db()
    assert order_import.status == OrderImport.Status.PREVIEW

    # the clerk chooses: the 997 good orders are imported, each through the flow
    done = client.post(confirm, {"action": "import", "good_only": "1"})
    assert done.status_code == 302
    order_import.refresh_from_db()
    assert order_import.status == OrderImport.Status.DONE
    assert order_import.imported_count == 997 and order_import.failed_count == 0
    orders = SalesOrder.objects.filter(order_import=order_import)
    assert orders.count() == 997
    assert set(orders.values_list("channel", flat=True)) == {SalesOrder.Channel.CSV}
    assert set(orders.values_list("status", flat=True)) == {
        SalesOrder.Status.APPROVED
    }  # credit applied, stock reserved
    assert not orders.filter(import_key__in=["K0007", "K0300", "K0998"]).exists()
    # all-or-nothing per order: K0300 had a good first line, and none of it was saved
    assert not SalesOrder.objects.filter(lines__quantity=Decimal("2"), import_key="K0300").exists()
    two_lines = orders.get(import_key="K0003")
    assert two_lines.lines.count() == 2 and two_lines.customer_po == "PO-3"
    assert str(two_lines.requested_date) == "2099-01-15"

    report = client.get(reverse("desk:order_import", args=[order_import.pk])).content.decode()
    assert "997 orders imported" in report
    assert "3 skipped for problems in the file" in report
    assert two_lines.number in report

    report_csv = client.get(reverse("desk:order_import_report", args=[order_import.pk])).content.decode()
    rows = list(csv.DictReader(io.StringIO(report_csv)))
    assert len(rows) == 1000
    skipped = {row["order_key"]: row["problems"] for row in rows if row["outcome"].startswith("skipped")}
    assert skipped == {
        "K0007": f"line {bad_lines[7]}, sku: unknown product 'NOPE-1'",
        "K0300": f"line {bad_lines[300]}, quantity: 'two' is not a number",
        "K0998": f"line {bad_lines[998]}, customer_account: no customer with account number 'IMP999'",
    }
    assert {row["outcome"] for row in rows} == {"approved", "skipped: problems in the file"}

    # running the import again (a re-delivered task) changes nothing
    assert flow.import_orders(order_import_id=order_import.pk) is None
    OrderImport.objects.filter(pk=order_import.pk).update(status=OrderImport.Status.RUNNING)  # as if the worker died
    flow.import_orders(order_import_id=order_import.pk)
    assert SalesOrder.objects.count() == 997
    order_import.refresh_from_db()
    assert order_import.imported_count == 997


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "The file is empty"),
        (
            "order_key,customer_account,sku,quantity\nK1,IMP000,Caf\u00e9,1\n".encode("latin-1"),
            "not UTF-8 text: byte 0xe9 on line 2",
        ),
        (b"order_key;customer;sku\nK1;IMP000;P-0\n", "Missing columns: customer_account, quantity"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not a CSV file: it looks like a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "looks like a ZIP archive (an Excel .xlsx workbook?)"),
        (b"Dear customer,\nplease send 5 widgets.\n", "Missing columns: order_key, customer_account, sku, quantity"),
        (b"order_key,customer_account,sku,quantity\n", "has no rows"),
        (b'order_key,customer_account,sku,quantity\nK1,"IMP000,P-0,1\n', "not valid CSV"),
    ],
    ids=["empty", "latin-1", "missing-columns", "pdf", "xlsx", "prose", "header-only", "broken-quote"],
)
def test_a_broken_file_imports_nothing_and_says_why(client, clerk, catalogue, data, says):
    response = upload(client, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert says in page
    assert OrderImport.objects.count() == 0
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_order_columns_must_agree_across_rows_and_semicolons_work(client, clerk, catalogue):
    data = (
        b"order_key;customer_account;sku;quantity;customer_po\n"
        b"A;IMP001;P-0;1;PO-1\n"
        b"A;IMP002;P-1;1;PO-1\n"
        b"B;IMP001;P-0;0;PO-9\n"
        b";IMP001;P-0;1;\n"
    )
    upload(client, data)
    order_import = OrderImport.objects.get()
    assert [tuple(p) for p in order_import.problems] == [
        (3, "customer_account", "'IMP002' differs from 'IMP001' on line 2 of the same order A", "A"),
        (4, "quantity", "must be greater than zero", "B"),
        (5, "order_key", "is empty: every row needs the key of the order it belongs to", "(line 5)"),
    ]
    assert order_import.to_import_count == 0
    response = client.post(reverse("desk:order_import_confirm", args=[order_import.pk]), {"good_only": "1"})
    assert response.status_code == 422
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_the_template_csv_is_documented_and_imports(client, clerk, staff):
    for account in ("C00001", "C00002"):
        credit_limit(CustomerFactory(account_number=account))
    for sku in ("W-1", "W-2"):
        stock(ProductFactory(sku=sku), "100")
    page = client.get(UPLOAD).content.decode()
    for column in imports.COLUMNS:
        assert f"<code>{column.name}</code>" in page
    template = client.get(reverse("desk:order_import_template"))
    assert template["Content-Disposition"] == 'attachment; filename="order-import-template.csv"'
    upload(client, template.content, "order-import-template.csv")
    order_import = OrderImport.objects.get()
    assert order_import.problems == [] and order_import.order_count == 2
    client.post(reverse("desk:order_import_confirm", args=[order_import.pk]), {"action": "import"})
    assert SalesOrder.objects.filter(channel="csv").count() == 2
    order_import.refresh_from_db()
    assert order_import.status == OrderImport.Status.DONE


@pytest.mark.django_db
def test_duplicate_po_is_a_warning_not_a_refusal(client, clerk, catalogue):
    upload(client, b"order_key,customer_account,sku,quantity,customer_po\nA,IMP001,P-0,1,PO-5\nB,IMP001,P-0,1,PO-5\n")
    order_import = OrderImport.objects.get()
    assert order_import.bad_order_count == 0
    assert imports.warnings_of(order_import) == [[3, "customer_po", "PO PO-5 is also on order A of this file", "B"]]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_big_file_is_imported_by_the_real_worker_with_progress(
    client,
    clerk,
    catalogue,
    celery_worker_process,  # noqa: F811
):
    data, bad_lines = order_file(80, bad={5: ("sku", "GONE")})
    response = upload(client, data)
    order_import = OrderImport.objects.get()
    assert order_import.to_import_count == 79 > 25  # above the inline limit: a worker imports it
    response = client.post(reverse("desk:order_import_confirm", args=[order_import.pk]), {"good_only": "1"})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert 'id="import-progress"' in page and 'hx-trigger="every 1s"' in page

    progress = reverse("desk:order_import_progress", args=[order_import.pk])
    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        polled = client.get(progress, headers={"HX-Request": "true"})
        if "HX-Redirect" in polled:
            break
        seen.add(polled.content.decode().count('role="progressbar"'))
        time.sleep(0.3)
    else:
        pytest.fail(f"The import did not finish in time: {OrderImport.objects.get().get_status_display()}")
    assert polled["HX-Redirect"] == reverse("desk:order_import", args=[order_import.pk])
    assert seen == {1}  # each poll answered with the progress bar
    order_import.refresh_from_db()
    assert order_import.status == OrderImport.Status.DONE
    assert order_import.imported_count == 79
    assert SalesOrder.objects.filter(order_import=order_import, channel="csv").count() == 79
    assert not SalesOrder.objects.filter(import_key="K0005").exists()
    assert "79 orders imported" in client.get(response.url).content.decode()
