"""The portal desk permissions for the roles that answer customers (o2c.core.roles
_PORTAL_DESK), and "manage users" for the portal users that existed before rights did, so
no customer account is left without someone who may manage its users."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from o2c.core import roles

GROUPS = [roles.ORDER_CLERK, roles.AR_CLERK]
PERMISSIONS = ["view_changerequest", "change_changerequest", "invite_portal_user"]


def forwards(apps, schema_editor):
    portal = apps.get_app_config("portal")
    portal.models_module = True
    create_permissions(portal, apps=apps, verbosity=0)
    portal.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = list(Permission.objects.filter(content_type__app_label="portal", codename__in=PERMISSIONS))
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*wanted)
    apps.get_model("portal", "PortalAccess").objects.update(can_manage_users=True)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_portal_rights_payments_requests"),
        ("core", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
