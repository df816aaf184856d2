"""The embedded default (SQLite) keeps decimals as floating point: 0.10 + 0.20 != 0.30 there.
Walk one order with such amounts, paid in three parts, on a real SQLite database made by
migrate in a subprocess (the suite itself runs on PostgreSQL)."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SCRIPT = """
import datetime
from decimal import Decimal
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from o2c import flow
from orders.models import Customer, PaymentTerms, Product
from orders.services import LineInput
from credit.models import CreditProfile
from fulfillment.models import StockItem, Warehouse
from receivables.selectors import ledger_integrity_problems
customer = Customer.objects.create(account_number="F-1", name="Float BV", email="a@f.example", address_line="x",
    postal_code="1", city="Gent", payment_terms=PaymentTerms.objects.get(code="NET30"))
CreditProfile.objects.create(customer=customer, credit_limit=Decimal("1000"))
warehouse = Warehouse.objects.create(code="W", name="W", is_default=True)
for sku, price in (("A", "0.10"), ("B", "0.20"), ("C", "33.33")):
    product = Product.objects.create(sku=sku, name=sku, unit_price=Decimal(price), tax_rate=Decimal("0"))
    StockItem.objects.create(warehouse=warehouse, product=product, on_hand=Decimal("10"))
order = flow.submit_order(by=None, customer_account="F-1",
                          lines=[LineInput("A", "1"), LineInput("B", "1"), LineInput("C", "3")])
invoice = flow.ship(order=order, by=None)
assert invoice.total == Decimal("100.29"), invoice.total
for part in ("33.43", "33.43", "33.43"):
    flow.receive_payment(invoice=invoice, amount=Decimal(part), value_date=datetime.date.today(), by=None)
    invoice.refresh_from_db()
order.refresh_from_db()
assert invoice.status == "paid" and invoice.amount_open == 0, (invoice.status, invoice.amount_open)
assert order.status == "completed", order.status
assert ledger_integrity_problems() == [], ledger_integrity_problems()
print("OK")
"""


def test_cents_add_up_on_the_embedded_sqlite_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "o2c.settings", "O2C_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "memory://"}
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
