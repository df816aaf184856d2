"""Statement of account: from the AR ledger, on the page and as a PDF read back with pdftotext."""

import datetime
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from o2c import flow
from portal import selectors
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory

from .factories import invoice_for, portal_user, widget

pytestmark = pytest.mark.django_db
STATEMENT = reverse("portal:statement")


@pytest.fixture
def account(staff):
    widget()
    acme = CustomerFactory(name="Acme Tools NV")
    people = {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE), "ar": staff(AR)}
    first = invoice_for(people["clerk"], people["warehouse"], acme)  # 121.00
    second = invoice_for(people["clerk"], people["warehouse"], acme, quantity="2")  # 242.00
    flow.receive_payment(invoice=first, amount=Decimal("100.00"), value_date=first.issue_date, by=people["ar"])
    return {"customer": acme, "invoices": [first, second]}


def test_statement_lines_and_running_balance(account):
    today = timezone.localdate()
    result = selectors.statement(account["customer"], start=today - datetime.timedelta(days=30), end=today)
    assert result.opening == 0
    assert [(line.debit, line.credit, line.balance) for line in result.lines] == [
        (Decimal("121.00"), 0, Decimal("121.00")),
        (Decimal("242.00"), 0, Decimal("363.00")),
        (0, Decimal("100.00"), Decimal("263.00")),  # the payment; applying it moves nothing owed
    ]
    assert result.closing == Decimal("263.00")
    later = selectors.statement(
        account["customer"], start=today + datetime.timedelta(days=1), end=today + datetime.timedelta(days=9)
    )
    assert (later.opening, later.lines, later.closing) == (Decimal("263.00"), [], Decimal("263.00"))


def test_statement_pdf_reads_back(client, account, tmp_path):
    client.force_login(portal_user(account["customer"], "acme"))
    today = timezone.localdate()
    response = client.get(
        STATEMENT,
        {"start": (today - datetime.timedelta(days=7)).isoformat(), "end": today.isoformat(), "format": "pdf"},
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="statement-{account["customer"].account_number}-'
    )
    path = tmp_path / "statement.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    assert "Statement of account" in text and "Acme Tools NV" in text
    for invoice in account["invoices"]:
        assert f"Invoice {invoice.number}" in text
    assert "Closing balance" in text and "263.00 EUR" in text


def test_statement_page_and_a_bad_period(client, account):
    client.force_login(portal_user(account["customer"], "acme"))
    html = client.get(STATEMENT).content.decode()  # this year so far
    assert "263.00 EUR" in html and account["invoices"][0].number in html
    response = client.get(STATEMENT, {"start": "2026-05-01", "end": "2026-04-01"})
    assert "The end is before the start." in response.content.decode()
    response = client.get(STATEMENT, {"start": "2026-05-01", "end": "2026-04-01", "format": "pdf"})
    assert response["Content-Type"].startswith("text/html")
