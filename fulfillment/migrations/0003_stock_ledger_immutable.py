"""On PostgreSQL the database refuses to change or delete a stock movement: the ledger is
append-only, mistakes are corrected by new movements (an adjustment with its reason)."""

from django.db import migrations

POSTGRES_SQL = """
CREATE FUNCTION o2c_guard_stock_movement() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Stock movement % cannot be %: the stock ledger is append-only; record an adjustment',
        OLD.id, lower(TG_OP) || 'd'
        USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER stockmovement_append_only BEFORE UPDATE OR DELETE ON fulfillment_stockmovement
    FOR EACH ROW EXECUTE FUNCTION o2c_guard_stock_movement();
"""

POSTGRES_REVERSE = """
DROP TRIGGER stockmovement_append_only ON fulfillment_stockmovement;
DROP FUNCTION o2c_guard_stock_movement();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0002_stock_ledger_backorders_shipping_delivery")]
    operations = [migrations.RunPython(forwards, backwards)]
