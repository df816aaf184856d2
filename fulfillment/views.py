from django.shortcuts import render

from o2c.core.roles import permission_required

from .selectors import shipping_queue

QUEUE_LIMIT = 200


@permission_required("fulfillment.ship_order")
def to_ship(request):
    """Approved orders with stock reserved (or services to deliver), each shipped in place:
    the form posts to the desk, which ships, invoices and comes back here."""
    orders = shipping_queue(limit=QUEUE_LIMIT)
    return render(request, "fulfillment/to_ship.html", {"orders": orders, "limit": QUEUE_LIMIT})
