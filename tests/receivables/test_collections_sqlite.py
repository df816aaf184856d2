"""The worklist is one hand-written SQL statement: it must give the same score on the embedded
SQLite default as on PostgreSQL (date arithmetic and division differ between them)."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SCRIPT = """
import datetime
from decimal import Decimal
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from orders.models import Customer, PaymentTerms
from invoicing import services as invoicing
from receivables import cashapp, collections
customer = Customer.objects.create(account_number="S-1", name="Lite BV", email="a@l.example", address_line="x",
    postal_code="1", city="Gent", payment_terms=PaymentTerms.objects.get(code="NET30"))
today = datetime.date(2026, 11, 23)
invoice, _ = invoicing.import_open_invoice(customer=customer, number="X1", issue_date=datetime.date(2026, 10, 4),
    due_date=datetime.date(2026, 11, 3), currency="EUR", total=Decimal("250.00"), open_amount=Decimal("250.00"))
cashapp.post_opening_item(invoice=invoice)
(row,) = collections.worklist(on=today).rows
assert (row.amount_points, row.days_points, row.risk_points, row.score) == (Decimal("2.50"), 20, 10, Decimal("32.50")), row
assert row.oldest_due == datetime.date(2026, 11, 3), row.oldest_due
print("OK")
"""


def test_worklist_score_on_the_embedded_sqlite_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "o2c.settings", "O2C_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "memory://"}
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
