"""Give the AR clerk and finance manager roles the collections permissions (o2c.core.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from o2c.core.roles import sync_roles


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("receivables", "0005_collections"),
        ("portal", "0004_portal_dispute_right"),
        ("invoicing", "0008_collections"),
        ("core", "0003_audit_trail"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
