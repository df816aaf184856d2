"""Every staff and portal URL, requested as each role: the roles that get in are exactly the
ones listed here. A URL missing from ALLOWED fails the test, so a new page must say who may
open it. Objects are addressed by an id that does not exist: a role that may use the page gets
404 (or a validation answer), one that may not gets 403 — the permission is checked first."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from o2c.core import roles
from portal.models import PortalAccess
from tests.core.factories import user_in
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CLERK, CREDIT, WAREHOUSE, BILLING, AR, FINANCE, CUSTOMER = (
    roles.ORDER_CLERK,
    roles.CREDIT_MANAGER,
    roles.WAREHOUSE,
    roles.BILLING_CLERK,
    roles.AR_CLERK,
    roles.FINANCE_MANAGER,
    roles.CUSTOMER,
)
STAFF = {CLERK, CREDIT, WAREHOUSE, BILLING, AR, FINANCE}
READ_DOCUMENTS = {CLERK, CREDIT, BILLING, AR, FINANCE}  # _READ_DOCUMENTS in o2c/core/roles.py
EVERYONE = STAFF | {CUSTOMER}
ORDER_DESK = {CLERK, FINANCE}  # orders.add_salesorder

ALLOWED: dict[str, set[str]] = {
    "home": EVERYONE,
    "otp_setup": EVERYONE,
    "desk:order_new": ORDER_DESK,
    "desk:order_detail": STAFF,
    "desk:credit_decision": {CREDIT},
    "desk:ship_order": {WAREHOUSE},
    "desk:ship_shipment": {WAREHOUSE},
    "desk:record_delivery": {WAREHOUSE},
    "desk:receive_stock": {WAREHOUSE},
    "desk:receive_return": {WAREHOUSE},
    "desk:invoice_detail": READ_DOCUMENTS,
    "desk:record_payment": {AR},
    "desk:order_edit": ORDER_DESK,
    "desk:order_cancel": ORDER_DESK,
    "desk:order_copy": ORDER_DESK,
    "desk:order_import_upload": ORDER_DESK,
    "desk:order_import_template": ORDER_DESK,
    "desk:order_import": ORDER_DESK,
    "desk:order_import_confirm": ORDER_DESK,
    "desk:order_import_progress": ORDER_DESK,
    "desk:order_import_report": ORDER_DESK,
    "desk:cash_queue": {AR},
    "desk:cash_line": {AR},
    "desk:accept_suggestion": {AR},
    "desk:statement_upload": {AR},
    "desk:statement_upload_status": {AR},
    "desk:manual_payment": {AR},
    "orders:list": STAFF,
    "orders:customers": STAFF,
    "orders:customer_new": {CLERK},
    "orders:customer_edit": STAFF,  # read by everyone who sees customers; saving needs change_customer
    "orders:customer_search": ORDER_DESK,
    "orders:product_search": ORDER_DESK,
    "credit:holds": {CREDIT},
    "credit:profile": {CREDIT, FINANCE},
    "credit:change_limit": {CREDIT},
    "credit:limit_approvals": {CREDIT, FINANCE},
    "credit:decide_limit": {CREDIT, FINANCE},
    "credit:policy": {CREDIT, FINANCE},
    "credit:applications": {CREDIT},
    "credit:application_new": {CREDIT, CLERK},
    "credit:application_document": {CREDIT},
    "credit:review_queue": {CREDIT},
    "credit:resolve_review": {CREDIT},
    "desk:credit_application_decision": {CREDIT},
    "fulfillment:to_ship": {WAREHOUSE},
    "fulfillment:pick_queue": {WAREHOUSE},
    "fulfillment:plan": {WAREHOUSE},
    "fulfillment:shipment": {WAREHOUSE},
    "fulfillment:scan": {WAREHOUSE},
    "fulfillment:finish_picking": {WAREHOUSE},
    "fulfillment:pack": {WAREHOUSE},
    "fulfillment:document": {WAREHOUSE},
    "fulfillment:authorise_return": {WAREHOUSE},
    "fulfillment:return": {WAREHOUSE},
    "fulfillment:exceptions": {WAREHOUSE},
    "fulfillment:backorders": STAFF,
    "fulfillment:atp": STAFF,
    "invoicing:list": READ_DOCUMENTS,
    "invoicing:pdf": READ_DOCUMENTS,
    "invoicing:ready": READ_DOCUMENTS,
    "invoicing:document": READ_DOCUMENTS,
    "invoicing:bundle": READ_DOCUMENTS,
    "invoicing:bundle_download": READ_DOCUMENTS,
    "desk:issue_draft": {BILLING},
    "desk:resend_invoice": {BILLING},
    "desk:credit_note_new": {BILLING},
    "desk:invoice_bulk": READ_DOCUMENTS,  # each bulk action checks its own permission
    "receivables:open_items": READ_DOCUMENTS,
    "receivables:dunning_runs": {AR, FINANCE},
    "receivables:dunning_run": {AR, FINANCE},
    "receivables:dunning_letter_pdf": {AR, FINANCE},
    "receivables:dunning_agency": {AR, FINANCE},
    "receivables:reminders": {AR, FINANCE},
    "desk:dunning_approve": {FINANCE},
    "desk:dunning_discard": {FINANCE},
    "receivables:disputes": {AR, FINANCE},  # receivables.view/add/change_dispute (_COLLECTIONS)
    "receivables:dispute_detail": {AR, FINANCE},
    "receivables:dispute_reply": {AR, FINANCE},
    "receivables:dispute_assign": {AR, FINANCE},
    "receivables:dispute_review": {AR, FINANCE},
    "receivables:dispute_attachment": {AR, FINANCE},
    "desk:dispute_new": {AR, FINANCE},
    "desk:dispute_resolve": {AR, FINANCE},
    "receivables:worklist": {AR, FINANCE},
    "desk:customer_account": {AR, FINANCE},
    "desk:account_log_call": {AR, FINANCE},
    "desk:account_record_promise": {AR, FINANCE},
    "desk:account_send_email": {AR, FINANCE},
    "desk:account_add_note": {AR, FINANCE},
    "desk:account_follow_up": {AR, FINANCE},
    "desk:account_statement": {AR, FINANCE},
    "desk:account_task_done": {AR, FINANCE},
    "receivables:write_offs": {AR, FINANCE},
    "receivables:write_off_new": {AR},  # add_writeoff
    "receivables:write_off_approvals": {FINANCE},  # change_writeoff
    "receivables:write_off_decide": {FINANCE},
    "receivables:refunds": {AR, FINANCE},
    "receivables:refund_new": {AR},  # add_refund
    "receivables:refund_approvals": {FINANCE},  # change_refund
    "receivables:refund_decide": {FINANCE},
    "reporting:dashboard": {FINANCE},
    "reporting:credit": {FINANCE, CREDIT},
    "reporting:receivables": {FINANCE, AR},
    "reporting:cycles": {FINANCE},
    "reporting:cycle_documents": {FINANCE},
    "reporting:forecast": {FINANCE, CREDIT, AR},
    "reporting:aging_invoices": {FINANCE, CREDIT, AR},
    "reporting:sales": {FINANCE, CREDIT, AR},
    "reporting:payments": {FINANCE, CREDIT, AR},
    "reporting:holds": {FINANCE, CREDIT},
    "reporting:quality_documents": {FINANCE},
    "portal:home": {CUSTOMER},
    "portal:invoice_pdf": {CUSTOMER},
    "portal:account": {CUSTOMER},
    "portal:invoices": {CUSTOMER},
    "portal:invoice_detail": {CUSTOMER},
    "portal:invoice_document": {CUSTOMER},
    "portal:orders": {CUSTOMER},
    "portal:order_detail": {CUSTOMER},
    "portal:order_new": {CUSTOMER},
    "portal:pay": {CUSTOMER},
    "portal:payment": {CUSTOMER},
    "portal:payments": {CUSTOMER},
    "portal:statement": {CUSTOMER},
    "portal:disputes": {CUSTOMER},
    "portal:dispute_new": {CUSTOMER},  # with the "dispute" right, which portal users have by default
    "portal:dispute_detail": {CUSTOMER},
    "portal:dispute_attachment": {CUSTOMER},
    "portal:users": set(),  # only a customer user with the "manage users" right (tests/portal)
    "portal:user_update": set(),
    "portal:pay_link": set(),  # a signed link, no sign-in: an invalid token is refused for everyone
    "portal:pay_link_payment": set(),
    "portal_staff:invite": {CLERK, AR},
    "portal_staff:change_requests": {CLERK, AR},
    "portal_staff:handle_change_request": {CLERK, AR},
    "portal_staff:attachment": {CLERK, AR},
}
PUBLIC = {  # the sign-in and password pages themselves
    "login",
    "logout",
    "otp_verify",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def url_patterns(patterns=None, prefix="", namespace=""):
    """(name, path with ids filled in) for every named URL outside the Django admin."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            path = re.sub(r"<(?:\w+:)?\w+>", "999999", prefix + str(pattern.pattern))
            yield f"{namespace}{pattern.name}", "/" + path


def got_in(client, path: str) -> bool:
    response = client.get(path)
    if response.status_code == 405:  # a POST-only action: an empty POST changes nothing
        response = client.post(path, {})
    if response.status_code in (302, 301) and "/login/" in response.get("Location", ""):
        return False
    return response.status_code != 403


def test_every_url_is_listed():
    names = {name for name, _ in url_patterns()}
    assert names - PUBLIC - set(ALLOWED) == set(), "say who may open these pages in ALLOWED"
    assert set(ALLOWED) - names == set(), "ALLOWED lists pages that no longer exist"


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_gets_into_exactly_its_pages(client, role):
    user = user_in(role, username=f"walker-{role.lower().replace(' ', '-')}")
    if role == CUSTOMER:
        PortalAccess.objects.create(user=user, customer=CustomerFactory())
    client.force_login(user)
    wrong = []
    for name, path in url_patterns():
        if name in PUBLIC:
            continue
        expected = role in ALLOWED[name]
        if got_in(client, path) != expected:
            wrong.append(f"{name} ({path}): {'refused' if expected else 'let in'}")
    assert wrong == []


def test_anonymous_gets_into_no_page(client):
    let_in = [name for name, path in url_patterns() if name not in PUBLIC and got_in(client, path)]
    assert let_in == []
