"""Cash application looks open invoices up by the number found in a remittance, tolerant of
separators and lost leading zeros (receivables.matching: ALNUM_SQL, STRIPPED_SQL, DIGITS_SQL).
On PostgreSQL these partial expression indexes over the open invoices make that one indexed
lookup per statement instead of a scan of every open invoice."""

from django.db import migrations

ALNUM = "regexp_replace(upper(number), '[^0-9A-Z]', '', 'g')"
STRIPPED = "regexp_replace(regexp_replace(upper(number), '(^|[^0-9])0+([0-9])', '\\1\\2', 'g'), '[^0-9A-Z]', '', 'g')"
DIGITS = f"regexp_replace({STRIPPED}, '^[A-Z]+', '')"
OPEN = "WHERE status = 'issued' AND amount_open > 0"
INDEXES = {"invoice_open_number_alnum": ALNUM, "invoice_open_number_stripped": STRIPPED,
           "invoice_open_number_digits": DIGITS}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, expression in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON invoicing_invoice (({expression})) {OPEN}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("receivables", "0003_cash_application"), ("invoicing", "0005_bank_accounts")]
    operations = [migrations.RunPython(forwards, backwards)]
