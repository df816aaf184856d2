from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import selectors


@permission_required("receivables.view_payment")
def open_items(request):
    """Aging at a glance, then every open invoice, oldest due first, 50 a page (keyset).
    Filters (GET): customer (part of name or account number), overdue=1."""
    today = timezone.localdate()
    customer = request.GET.get("customer", "").strip()[:100]
    overdue_only = request.GET.get("overdue") == "1"
    items = selectors.open_items_list(customer=customer, overdue_on=today if overdue_only else None)
    page = keyset_page(request, items, order=selectors.OPEN_ITEMS_ORDER)
    for item in page.rows:
        item.days_overdue = selectors.days_overdue(item.due_date, on=today)
    context = {
        "page": page,
        "customer": customer,
        "overdue_only": overdue_only,
        "filtered": bool(customer or overdue_only),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/open_items.html#results", context)
    aging = selectors.aging_summary(on=today)
    context |= {
        "today": today,
        "aging": aging,
        "aging_max": max((bucket["amount"] for bucket in aging), default=0),
        "aging_total": sum(bucket["amount"] for bucket in aging),
        "currency": settings.O2C_DEFAULT_CURRENCY,
        "reconciliation": selectors.latest_reconciliation(),
    }
    return render(request, "receivables/open_items.html", context)
