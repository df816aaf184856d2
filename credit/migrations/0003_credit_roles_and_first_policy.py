"""Grant the credit room's new permissions to the existing role groups (o2c.core.roles
CREDIT_MANAGER_CREDIT / FINANCE_MANAGER_CREDIT, ORDER_CLERK's credit application), write
policy version 1 (the defaults), and index the credit hold queue's two sort orders."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from o2c.core import roles

GRANTS = {
    roles.CREDIT_MANAGER: roles.CREDIT_MANAGER_CREDIT,
    roles.FINANCE_MANAGER: roles.FINANCE_MANAGER_CREDIT,
    roles.ORDER_CLERK: ["credit.add_creditapplication"],
}


def grant(apps, schema_editor):
    credit = apps.get_app_config("credit")
    credit.models_module = True
    create_permissions(credit, apps=apps, verbosity=0)
    credit.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    CreditPolicy = apps.get_model("credit", "CreditPolicy")
    if not CreditPolicy.objects.exists():
        CreditPolicy.objects.create(version=1, note="Defaults")


HOLD_QUEUE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS credit_hold_queue_oldest ON orders_salesorder (submitted_at, id) "
    "WHERE status = 'credit_hold'",
    "CREATE INDEX IF NOT EXISTS credit_hold_queue_largest ON orders_salesorder (total, id) "
    "WHERE status = 'credit_hold'",
]


def add_indexes(apps, schema_editor):
    # Partial indexes on the orders table for the credit queue: the queue is the credit room's
    # read, so its index lives here (SQLite and PostgreSQL both accept this syntax).
    for statement in HOLD_QUEUE_INDEXES:
        schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    for name in ["credit_hold_queue_oldest", "credit_hold_queue_largest"]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("credit", "0002_credit_policy_exposure_applications_review"),
        ("core", "0002_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("orders", "0004_master_data_for_stages"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(add_indexes, drop_indexes),
    ]
