"""pg_trgm and a trigram GIN index on the customer's name, for duplicate detection on create
(orders.selectors.similar_customers). On SQLite (the embedded default) there is no pg_trgm:
nothing is created and the selector compares names with rapidfuzz instead."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS customer_name_trgm ON orders_customer USING gin (lower(name) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_customer_master_pricing_imports")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
