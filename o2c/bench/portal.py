"""The customer portal at size: one customer with many invoices, payments and ledger entries
among many others. Measures the pages a customer opens most (home, invoices list, payment
history, statement for a year) through Django's test client, against the same first page read
with raw SQL (the floor), and the statement as a PDF (WeasyPrint in the request).

Scale 1: the customer has 20,000 invoices over 5 years, 10,000 paid; 200,000 invoices of other
customers. Everything is built with bulk inserts inside one transaction that is rolled back.
"""

import datetime
import random
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from invoicing.models import Invoice
from o2c.core import roles
from orders.models import Customer, PaymentTerms
from portal import documents, selectors
from portal.models import PortalAccess
from receivables.models import Account, JournalEntry, JournalLine

from .common import Figure, measured_then_rolled_back, require_postgresql, role_group, timed

PAGE_TARGET_MS = 11  # PERFORMANCE.md: a Django page with a 50-row table, p50


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    return measured_then_rolled_back(lambda: _build(scale), lambda built: _measure(*built, scale))


def _build(scale: float):
    rng = random.Random(8)
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    others = Customer.objects.bulk_create(
        Customer(
            account_number=f"BP{n:06d}",
            name=f"Bench other {n}",
            email=f"o{n}@bench.example",
            address_line="Street 1",
            postal_code="1000",
            city="Brussels",
            payment_terms=terms,
        )
        for n in range(200)
    )
    customer = Customer.objects.create(
        account_number="BPORTAL",
        name="Bench portal customer",
        email="p@bench.example",
        address_line="Street 1",
        postal_code="1000",
        city="Brussels",
        payment_terms=terms,
    )
    user = User.objects.create(username="bench-portal-user")
    user.groups.add(role_group(roles.CUSTOMER))
    PortalAccess.objects.create(user=user, customer=customer)
    mine = int(20_000 * scale)
    theirs = int(200_000 * scale)
    today = timezone.localdate()
    rows = []
    for n in range(mine + theirs):
        owner = customer if n < mine else others[n % len(others)]
        issued = today - datetime.timedelta(days=rng.randint(0, 5 * 365))
        net = Decimal(rng.randint(1000, 500_000)) / 100
        tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
        paid = n % 2 == 0
        rows.append(
            Invoice(
                number=f"BEN-{n:08d}",
                customer=owner,
                status="paid" if paid else "issued",
                currency="EUR",
                bill_to="Bench",
                payment_terms="30 days net",
                issue_date=issued,
                due_date=issued + datetime.timedelta(days=30),
                net_amount=net,
                tax_amount=tax,
                total=net + tax,
                amount_open=Decimal("0") if paid else net + tax,
            )
        )
    Invoice.objects.bulk_create(rows, batch_size=5000)
    # the customer's ledger: one entry per invoice, balanced (Dr receivables / Cr revenue+tax)
    invoices = list(
        Invoice.objects.filter(customer=customer).values_list("pk", "issue_date", "total", "net_amount", "tax_amount")
    )
    entries = JournalEntry.objects.bulk_create(
        [
            JournalEntry(
                kind="invoice",
                customer=customer,
                currency="EUR",
                effective_date=d,
                description=f"Invoice {pk}",
                invoice_id=pk,
            )
            for pk, d, *_ in invoices
        ],
        batch_size=5000,
    )
    lines = []
    for entry, (_, _, total, net, tax) in zip(entries, invoices, strict=True):
        lines += [
            JournalLine(entry=entry, account=Account.RECEIVABLES, customer=customer, debit=total),
            JournalLine(entry=entry, account=Account.REVENUE, customer=customer, credit=net),
            JournalLine(entry=entry, account=Account.TAX, customer=customer, credit=tax),
        ]
    JournalLine.objects.bulk_create(lines, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE orders_customer; ANALYZE invoicing_invoice; ANALYZE receivables_journalline; ANALYZE receivables_journalentry"
        )
    return customer, user


def _measure(customer, user, scale) -> list[Figure]:
    client = Client()
    client.force_login(user)
    extra = {"scale": scale, "customer_invoices": int(20_000 * scale), "other_invoices": int(200_000 * scale)}

    def page(url):
        def get():
            assert client.get(url).status_code == 200

        return get

    def first_page_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, number, issue_date, due_date, total, amount_open, status FROM invoicing_invoice "
                "WHERE customer_id = %s AND status <> 'draft' ORDER BY issue_date DESC, id DESC LIMIT 51",
                [customer.pk],
            )
            cursor.fetchall()

    floor = min(timed(first_page_sql, runs=9))
    figures = []
    for name, url in [
        ("portal home", "/portal/"),
        ("portal invoices list", "/portal/invoices/"),
        ("portal open invoices filter", "/portal/invoices/?status=open"),
        ("portal pay page (open invoices)", "/portal/pay/"),
    ]:
        figures.append(
            Figure(
                name=name,
                unit="ms",
                samples=timed(page(url), runs=9),
                floor=floor,
                target=f"<= {PAGE_TARGET_MS} ms p50 + template rows",
                extra=extra,
            )
        )
    today = timezone.localdate()
    year = {"start": today - datetime.timedelta(days=365), "end": today}
    statement = selectors.statement(customer, **year)
    figures.append(
        Figure(
            name="portal statement of a year (ledger read)",
            unit="ms",
            samples=timed(lambda: selectors.statement(customer, **year), runs=5),
            extra=extra | {"lines": len(statement.lines)},
        )
    )
    month = {"start": today - datetime.timedelta(days=30), "end": today}
    statement = selectors.statement(customer, **month)
    figures.append(
        Figure(
            name="portal statement PDF of a month (WeasyPrint, in the request)",
            unit="ms",
            samples=timed(lambda: documents.statement_pdf(statement), runs=3),
            extra=extra | {"lines": len(statement.lines)},
        )
    )
    return figures
