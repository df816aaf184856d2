"""Order clerks may create and change customers, finance managers override prices (the
permissions o2c.core.roles lists for them). Then pg_trgm and a trigram GIN index on the customer's name, for duplicate detection on create
(orders.selectors.similar_customers). On SQLite (the embedded default) there is no pg_trgm:
nothing is created and the selector compares names with rapidfuzz instead."""

from django.contrib.auth.management import create_permissions
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

GRANTS = {
    "Order clerk": ["add_customer", "change_customer"],
    "Finance manager": ["add_salesorder", "override_price"],
}


def grant(apps, schema_editor):
    # Only this app's new permissions, added to the groups: the rest of the roles is unchanged.
    app_config = apps.get_app_config("orders")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS customer_name_trgm ON orders_customer USING gin (lower(name) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_customer_master_pricing_imports"), ("core", "0002_roles")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
        migrations.RunPython(grant, migrations.RunPython.noop, elidable=False),
    ]
