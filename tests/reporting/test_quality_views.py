"""The quality KPIs on the finance dashboard, each with its definition, and their drill-downs."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from o2c.core import roles
from tests.orders.factories import CustomerFactory
from tests.reporting.factories import make_invoice
from tests.reporting.test_quality import END, START, credit_note, errors  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
Q1 = {"start": START.isoformat(), "end": END.isoformat(), "period": "custom"}


@pytest.fixture
def finance(staff, client):
    user = staff(roles.FINANCE_MANAGER)
    client.force_login(user)
    return user


def test_dashboard_shows_the_quality_figures_with_definitions(client, finance, errors):  # noqa: F811
    response = client.get(reverse("reporting:dashboard"), Q1)
    page = response.content.decode()
    q = response.context["quality"]
    assert q.invoice_errors.invoices == 10 and q.invoice_errors.rate == Decimal("30.0")  # 3 / 10 x 100
    for element in ["perfect-order", "invoice-errors", "auto-match", "promise-kept", "no-dunning"]:
        assert f'id="{element}"' in page
    assert "Invoice error rate = invoices issued in the period with a credit note or a dispute" in page
    assert "Credit note: Wrong price 2" in page
    assert reverse("reporting:quality_documents", args=["invoice-errors"]) in page
    kpis = client.get(reverse("reporting:dashboard"), Q1 | {"format": "csv"}).content.decode("utf-8-sig")
    rows = {row[0]: row for row in csv.reader(io.StringIO(kpis))}
    assert rows["Invoice error rate"][1] == "30.0"
    assert rows["Invoice errors: Credit note: Wrong price"][1] == "20.0"


@pytest.mark.parametrize("measure", ["perfect-orders", "invoice-errors", "auto-match", "promises", "dunning"])
def test_each_drill_down_opens_and_exports(client, finance, errors, measure):  # noqa: F811
    url = reverse("reporting:quality_documents", args=[measure])
    response = client.get(url, Q1)
    assert response.status_code == 200
    assert response.context["definition"]
    xlsx = client.get(url, Q1 | {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert len(list(sheet.iter_rows())) == 1 + len(response.context["rows"])


def test_invoice_error_drill_down_lists_the_documents(client, finance, errors):  # noqa: F811
    response = client.get(reverse("reporting:quality_documents", args=["invoice-errors"]), Q1)
    assert [row[0] for row in response.context["rows"]][:2] == ["CN1", "CN2"]
    assert client.get(reverse("reporting:quality_documents", args=["nothing"])).status_code == 404


def test_drill_down_query_count_does_not_grow(client, finance):
    url = reverse("reporting:quality_documents", args=["invoice-errors"])

    def add(n):
        customer = CustomerFactory()
        for i in range(n):
            invoice = make_invoice(f"QV{n}-{i}", customer, issued=START, due=END, total="10")
            credit_note(f"QC{n}-{i}", invoice, START, "1", "Wrong price")

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, Q1).status_code == 200
        return len(captured)

    add(1)
    one = count()
    add(5)
    assert count() == one
