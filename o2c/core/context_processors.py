"""The navigation bar: each role sees the places it can act in, nothing else."""

from django.urls import reverse

NAVIGATION = [
    ("Orders", "orders:list", "orders.view_salesorder"),
    ("New order", "desk:order_new", "orders.add_salesorder"),
    ("Customers", "orders:customers", "orders.view_customer"),
    ("Credit holds", "credit:holds", "credit.decide_credit_hold"),
    ("Shipping", "fulfillment:to_ship", "fulfillment.ship_order"),
    ("Backorders", "fulfillment:backorders", "orders.view_salesorder"),
    ("Invoices", "invoicing:list", "invoicing.view_invoice"),
    ("Ready to bill", "invoicing:ready", "invoicing.issue_invoice"),
    ("Receivables", "receivables:open_items", "receivables.view_payment"),
    ("Cash", "desk:cash_queue", "receivables.add_payment"),
    ("Disputes", "receivables:disputes", "receivables.view_dispute"),
    ("Collections", "receivables:worklist", "receivables.view_collectionactivity"),
    ("Credit balances", "receivables:refunds", "receivables.add_refund"),  # refunds asked for by AR
    ("Write-off approvals", "receivables:write_off_approvals", "receivables.change_writeoff"),
    ("Refund approvals", "receivables:refund_approvals", "receivables.change_refund"),
    ("Reports", "reporting:dashboard", "reporting.view_reports"),
    ("Customer requests", "portal_staff:change_requests", "portal.view_changerequest"),
    ("Credit report", "reporting:credit", "credit.decide_credit_hold"),  # the credit manager's report view
    ("Aging report", "reporting:receivables", "receivables.add_payment"),  # the AR clerk's report view
    ("My account", "portal:home", "portal.use_portal"),
    ("Credit policy", "credit:policy", "credit.publish_creditpolicy"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    path = request.path
    items = []
    for label, url_name, perm in NAVIGATION:
        if user.has_perm(perm):
            url = reverse(url_name)
            items.append({"label": label, "url": url, "active": path.startswith(url) and url != "/"})
    return {"nav_items": items}
