from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from o2c.core.roles import permission_required

from . import selectors


@permission_required("reporting.view_reports")
def dashboard(request):
    """Receivables, cash and order flow today, every figure one database aggregate."""
    figures = selectors.dashboard(on=timezone.localdate())
    return render(request, "reporting/dashboard.html", {"figures": figures, "currency": settings.O2C_DEFAULT_CURRENCY})
