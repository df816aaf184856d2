from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import collections, selectors


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


@permission_required("receivables.view_collectionactivity")
def worklist(request):
    """The collector's worklist: accounts with overdue items, highest score first, 50 a page.
    Filters (GET): collector = me | all | <collector id>, segment, page. One query for the rows."""
    today = timezone.localdate()
    mine = getattr(request.user, "collector", None)  # None: this user is not a collector
    chosen = request.GET.get("collector", "me" if mine else "all")
    collector_id = None
    if chosen == "me":
        collector_id = mine.pk if mine else -1  # not a collector: nothing is "mine"
    elif chosen.isdigit():
        collector_id = int(chosen)
    segment = request.GET.get("segment", "").strip()[:30]
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    page = collections.worklist(on=today, collector_id=collector_id, segment=segment, page=number)
    context = {
        "page": page,
        "today": today,
        "chosen": chosen,
        "segment": segment,
        "filtered": bool(segment) or chosen != ("me" if mine else "all"),
        "is_collector": mine is not None,
        "previous_url": _with_page(request, page.number - 1) if page.has_previous else "",
        "next_url": _with_page(request, page.number + 1) if page.has_next else "",
        "score_parts": collections.score_explained(),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/worklist.html#results", context)
    context |= {"collectors": collections.active_collectors(), "segments": collections.segments()}
    return render(request, "receivables/worklist.html", context)


def _with_page(request, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return f"{request.path}?{query.urlencode()}"
