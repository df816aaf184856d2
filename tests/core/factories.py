from django.contrib.auth.models import Group, User

from o2c.core import roles


def user_in(role: str, username: str | None = None) -> User:
    username = username or role.lower().replace(" ", "_")
    user, _ = User.objects.get_or_create(username=username, defaults={"first_name": role})
    user.set_password("demo")
    user.save()
    if not Group.objects.filter(name=role).exists():
        roles.sync_roles()  # transactional tests flush the groups the data migration made
    user.groups.add(Group.objects.get(name=role))
    return user


CLERK, CREDIT, WAREHOUSE, AR = roles.ORDER_CLERK, roles.CREDIT_MANAGER, roles.WAREHOUSE, roles.AR_CLERK
