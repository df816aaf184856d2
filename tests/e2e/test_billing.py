"""The billing clerk in a real browser: bulk PDF download built by a real worker with an htmx
progress bar, and a credit note from the invoice page."""

import io
import zipfile
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from invoicing.models import BillingProfile
from o2c.core import roles
from tests.core.factories import user_in
from tests.e2e.test_order_to_cash import login
from tests.invoicing import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_bulk_zip_with_progress_and_a_credit_note(page: Page, celery_worker_process):
    f.company()
    user_in(roles.BILLING_CLERK)
    customer = f.customer()
    BillingProfile.objects.filter(customer=customer).update(send_email=False)
    invoices = [f.shipped_invoice(customer, [(f.product("19.99", name=f"Shelf {n}"), 3)]) for n in range(2)]

    login(page, "billing_clerk")
    page.get_by_role("link", name="Invoices", exact=True).click()
    page.get_by_label("Tick all").check()
    page.get_by_role("button", name="Download PDFs (zip)").click()
    expect(page.locator("#bundle-progress .progress")).to_be_visible()
    link = page.locator("#bundle-link")
    expect(link).to_be_visible(timeout=120_000)  # the worker renders and zips; htmx polls the progress
    expect(page.locator("#bundle-progress")).to_contain_text("Ready: 2 of 2 invoices")
    with page.expect_download() as download_info:
        link.click()
    names = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes())).namelist()
    assert sorted(names) == sorted(f"{i.number}.pdf" for i in invoices)

    page.goto(f"/desk/invoices/{invoices[0].pk}/")
    page.get_by_label("Amount to credit (incl. VAT)").fill("10.00")
    page.get_by_label("Reason").fill("Scratched on delivery")
    page.get_by_role("button", name="Issue credit note").click()
    expect(page.locator("#messages")).to_contain_text("Credit note CN-")
    expect(page.locator("#credit-notes")).to_contain_text("Scratched on delivery")
    # 10.00 at 21% cannot be met to the cent: net 8.26 + VAT 1.73 = 9.99 is credited
    note = invoices[0].credit_notes.get()
    assert note.total == Decimal("9.99")
    expect(page.locator("#invoice-open")).to_have_text("62.57 EUR")  # 72.56 - 9.99
