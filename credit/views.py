from django.shortcuts import render

from o2c.core.roles import permission_required

from .forms import HoldDecisionForm
from .selectors import held_orders


@permission_required("credit.decide_credit_hold")
def holds(request):
    """The credit manager's queue: each held order with its reasons, released or rejected in place."""
    orders = list(held_orders()[:200])
    return render(request, "credit/holds.html", {"orders": orders, "form": HoldDecisionForm()})
