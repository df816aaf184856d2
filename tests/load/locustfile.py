"""Mixed clerk and portal workload for `python manage.py load_test` (Locust, headless).

Runs under Locust's own interpreter (it imports nothing of the project). The command writes
the sessions and ids to the file named by O2C_LOAD_PLAN: staff sessions with open invoices,
orders and customers to open, portal sessions each with its own invoices. Mostly reads (lists,
search, detail pages, portal invoices), some writes (a clerk records a small payment on an
open invoice through the invoice page's form, with its idempotency key)."""

import json
import os
import random
import re
import uuid

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["O2C_LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WORDS = ["Acme", "Nova", "Delta", "Orion", "Vega", "Atlas", "Polar", "Lumen", "Terra", "Nexus"]


def _session(user, cookie: str) -> None:
    user.client.cookies.set("sessionid", cookie)


class Clerk(HttpUser):
    weight = 3
    wait_time = between(1, 3)

    def on_start(self):
        staff = PLAN["staff"]
        _session(self, staff[random.randrange(len(staff))])

    @task(4)
    def invoice_list(self):
        self.client.get("/invoices/", name="/invoices/")

    @task(3)
    def order_list(self):
        self.client.get("/orders/", name="/orders/")

    @task(3)
    def open_items(self):
        self.client.get("/receivables/", name="/receivables/")

    @task(2)
    def overdue_items(self):
        self.client.get("/receivables/?overdue=1", name="/receivables/?overdue")

    @task(3)
    def customer_search(self):
        self.client.get(f"/orders/customers/?q={random.choice(WORDS)}", name="/orders/customers/?q")

    @task(2)
    def invoice_search(self):
        self.client.get(f"/invoices/?customer={random.choice(WORDS)}", name="/invoices/?customer")

    @task(6)
    def invoice_detail(self):
        self.client.get(f"/desk/invoices/{random.choice(PLAN['invoices'])}/", name="/desk/invoices/[id]/")

    @task(4)
    def order_detail(self):
        self.client.get(f"/desk/orders/{random.choice(PLAN['orders'])}/", name="/desk/orders/[id]/")

    @task(2)
    def credit_profile(self):
        self.client.get(f"/credit/customers/{random.choice(PLAN['customers'])}/", name="/credit/customers/[id]/")

    @task(1)
    def record_payment(self):
        invoice_id = random.choice(PLAN["open_invoices"])
        page = self.client.get(f"/desk/invoices/{invoice_id}/", name="/desk/invoices/[id]/ (before paying)")
        token = CSRF.search(page.text or "")
        if not token:
            return
        data = {
            "csrfmiddlewaretoken": token.group(1),
            "amount": "1.00",
            "value_date": PLAN["today"],
            "method": "transfer",
            "reference": "load test",
            "idempotency_key": uuid.uuid4().hex,
        }
        with self.client.post(
            f"/desk/invoices/{invoice_id}/payment/",
            data=data,
            headers={"Referer": f"{self.host}/desk/invoices/{invoice_id}/"},
            name="POST /desk/invoices/[id]/payment/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (302, 422):  # recorded, or refused with a message (e.g. paid meanwhile)
                response.success()


class PortalUser(HttpUser):
    weight = 2
    wait_time = between(1, 4)

    def on_start(self):
        self.me = random.choice(PLAN["portal"])
        _session(self, self.me["session"])

    @task(2)
    def home(self):
        self.client.get("/portal/", name="/portal/")

    @task(4)
    def invoices(self):
        self.client.get("/portal/invoices/", name="/portal/invoices/")

    @task(2)
    def open_invoices(self):
        self.client.get("/portal/invoices/?status=open", name="/portal/invoices/?status=open")

    @task(4)
    def invoice_detail(self):
        if self.me["invoices"]:
            self.client.get(f"/portal/invoices/{random.choice(self.me['invoices'])}/", name="/portal/invoices/[id]/")

    @task(1)
    def statement(self):
        self.client.get("/portal/statement/", name="/portal/statement/")

    @task(1)
    def payments(self):
        self.client.get("/portal/payments/", name="/portal/payments/")
