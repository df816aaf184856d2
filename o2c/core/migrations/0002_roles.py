"""Create the role groups of ARCHITECTURE.md with their permissions (o2c.core.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from o2c.core.roles import sync_roles


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0001_initial"),
        ("fulfillment", "0001_initial"),
        ("invoicing", "0001_initial"),
        ("receivables", "0001_initial"),
        ("credit", "0001_initial"),
        ("reporting", "0001_initial"),
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
