"""portal.scoping: the one helper every portal query goes through."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from o2c.core import roles
from orders.models import SalesOrder
from portal.models import PortalAccess
from portal.scoping import customer_for, scoped
from tests.core.factories import user_in
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def request_of(user):
    request = RequestFactory().get("/portal/")
    request.user = user
    return request


def test_scoped_keeps_only_the_users_customer(django_assert_num_queries):
    acme, bolt = CustomerFactory(), CustomerFactory()
    user = user_in(roles.CUSTOMER, username="acme")
    PortalAccess.objects.create(user=user, customer=acme)
    for customer in (acme, bolt):
        SalesOrder.objects.create(customer=customer, order_date="2026-01-01", currency="EUR")
    request = request_of(user)

    with django_assert_num_queries(2):  # the customer once, then the orders
        assert customer_for(request) == acme
        assert [order.customer_id for order in scoped(SalesOrder.objects.all(), request)] == [acme.pk]


def test_a_login_without_customer_is_refused():
    request = request_of(user_in(roles.CUSTOMER, username="nobody"))
    with pytest.raises(PermissionDenied):
        scoped(SalesOrder.objects.all(), request)
