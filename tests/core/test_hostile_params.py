"""Every staff and portal URL, as each role, on the demo data (real ids), with nonsense in every
query parameter and form field a page reads: wrong types, impossible dates, huge and negative
numbers, markup and SQL-looking text. A page answers with a message or a refusal, never a 500."""

import pytest
from django.core.management import call_command

from o2c.core import roles
from portal.models import PortalAccess
from tests.core.factories import user_in
from tests.core.test_permissions import PUBLIC, url_patterns

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

NONSENSE = {
    **dict.fromkeys(["page", "owner", "collector", "index", "level", "invoices", "lines"], "x'1"),
    **dict.fromkeys(["start", "end", "on", "date", "value_date", "promised_date", "follow_up_on"], "2026-02-31"),
    **dict.fromkeys(["amount", "accepted_amount", "quantity", "days"], "-1e999"),
    **dict.fromkeys(["status", "reason", "outcome", "action", "period", "measure", "format"], "<b>boom</b>"),
    "q": "' OR 1=1 --",
    "customer": "%",
    "segment": "x" * 300,
    "currency": "XXXX",
    "iban": "XX00",
    "note": "n" * 5000,
    "body": "",
}


def as_role(client, role):
    if role == roles.CUSTOMER:
        user = PortalAccess.objects.select_related("user").first().user  # a demo customer's user
    else:
        user = user_in(role, username=f"hostile-{role.lower().replace(' ', '-')}")
    client.force_login(user)


def test_no_page_answers_nonsense_with_a_500(client):
    call_command("seed_demo", verbosity=0)
    client.raise_request_exception = False
    errors = []
    for role in sorted(roles.ROLES):
        as_role(client, role)
        for name, path in url_patterns():
            if name in PUBLIC:
                continue
            for pk in ("1", "2"):
                url = path.replace("999999", pk)
                for response in (client.get(url, NONSENSE), client.post(url, NONSENSE)):
                    if response.status_code >= 500:
                        errors.append(f"{role}: {response.request['REQUEST_METHOD']} {url} -> {response.status_code}")
    assert errors == []
