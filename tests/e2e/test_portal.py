"""The customer portal in a real browser: a customer signs in, downloads an invoice PDF that
the real worker rendered, pays two invoices at once with the test card provider and sees them
paid, raises a dispute with a photo on a third, which an AR clerk then finds in the staff
dispute list with its attachment; and the portal fits a phone's width."""

import subprocess
import time

import pytest
from playwright.sync_api import Page, expect

from invoicing.models import Invoice
from receivables.models import Dispute, Payment
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory
from tests.portal.factories import invoice_for, portal_user, widget

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def world(staff):
    widget()
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    clerk, warehouse = staff(CLERK, "clerk"), staff(WAREHOUSE, "warehouse")
    staff(AR, "ar-clerk")
    portal_user(customer, "lupulus")
    return {"customer": customer, "clerk": clerk, "warehouse": warehouse}


def two_invoices(world, *, with_pdf: bool) -> list[Invoice]:
    return [
        invoice_for(world["clerk"], world["warehouse"], world["customer"], quantity=q, with_pdf=with_pdf)
        for q in ("1", "2")
    ]


def png_photo(path) -> None:
    from PIL import Image

    Image.new("RGB", (40, 30), "brown").save(path, format="PNG")


def sign_in(page: Page, username: str = "lupulus") -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def reload_until_visible(page: Page, locator, seconds: float = 30) -> None:
    """The invoice page does not poll: reload it as a customer would until the worker is done."""
    deadline = time.monotonic() + seconds
    while not locator.is_visible():
        assert time.monotonic() < deadline, "the worker did not store the PDF in time"
        time.sleep(0.5)
        page.reload()


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


@pytest.mark.worker
def test_customer_downloads_a_pdf_pays_two_invoices_and_disputes_a_third(
    page: Page, browser, live_server, world, celery_worker_process, tmp_path
):
    first, second = two_invoices(world, with_pdf=False)  # the real worker renders the PDFs
    third = invoice_for(world["clerk"], world["warehouse"], world["customer"], quantity="3", with_pdf=False)

    # 1. Signing in lands on the customer's own account, in the company's look.
    sign_in(page)
    expect(page).to_have_url(f"{page.url.split('/portal/')[0]}/portal/")
    expect(page.locator("h1")).to_have_text("Brasserie Lupulus BV")
    expect(page.locator("#balance")).to_contain_text("726.00 EUR")

    # 2. The invoice page offers the PDF once the worker has stored it; it downloads and reads back.
    page.get_by_role("link", name=first.number).first.click()
    expect(page.locator("#invoice-total")).to_have_text("121.00 EUR")
    pdf_link = page.get_by_role("link", name="Download PDF")
    reload_until_visible(page, pdf_link)
    with page.expect_download() as download_info:
        pdf_link.click()
    download = download_info.value
    assert download.suggested_filename == f"{first.number}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = pdf_text(path)
    assert first.number in text and "121.00" in text

    # 3. Pay both invoices at once with the test card provider.
    page.get_by_role("link", name="Pay", exact=True).click()
    page.check(f"#pay-{first.pk}")
    page.check(f"#pay-{second.pk}")
    expect(page.locator("[data-pay-total]")).to_have_text("363.00 EUR (2 invoices)")
    page.get_by_label("Card (test provider)").check()
    page.get_by_role("button", name="Continue to payment").click()
    page.fill("#card_number", "4242 4242 4242 4242")
    page.fill("#card_expiry", "12/30")
    page.fill("#card_cvc", "123")
    page.get_by_role("button", name="Pay 363.00 EUR").click()
    expect(page.locator("#messages")).to_contain_text("363.00 EUR paid")
    expect(page.locator("#payment-status")).to_have_text("Paid")

    # 4. Both show paid at once, and nothing is left to pay.
    page.get_by_role("link", name="Invoices", exact=True).click()
    for invoice in (first, second):
        expect(page.locator(f"#invoice-{invoice.pk}")).to_contain_text("Paid")
    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.locator("#balance")).to_contain_text("363.00 EUR")  # only the third is left
    assert sorted(p.amount for p in Payment.objects.filter(customer=world["customer"])) == [first.total, second.total]
    page.screenshot(path="/tmp/e2e-portal.png", full_page=True)

    # 5. The third invoice: one of its three widgets arrived broken. Raise a dispute with a photo.
    page.get_by_role("link", name=third.number).first.click()
    page.get_by_role("link", name="Raise a dispute").click()
    page.get_by_label("Reason").select_option("damaged")
    page.get_by_label("What is wrong").fill("One widget arrived broken; photo attached.")
    line = third.lines.get()
    page.check(f"#line-{line.pk}")
    page.get_by_label(f"Quantity disputed on line {line.line_number}").fill("1")
    photo = tmp_path / "broken-widget.png"
    png_photo(photo)
    page.get_by_label("Attachment").set_input_files(str(photo))
    page.get_by_role("button", name="Send dispute").click()
    expect(page.locator("#messages")).to_contain_text("is sent")
    expect(page.locator("#dispute-status")).to_have_text("Open")
    expect(page.locator("#dispute-amount")).to_have_text("121.00 EUR")
    expect(page.locator("#dispute-attachments")).to_contain_text("broken-widget.png")
    dispute = Dispute.objects.get(invoice=third)
    assert dispute.opened_in_portal and dispute.attachments.filter(source="upload").count() == 1

    # 6. An AR clerk, in a browser of their own, finds it in the dispute list and opens the photo.
    staff_context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    clerk_page = staff_context.new_page()
    try:
        sign_in(clerk_page, "ar-clerk")
        clerk_page.get_by_role("link", name="Disputes", exact=True).click()
        row = clerk_page.locator(f"#dispute-{dispute.pk}")
        expect(row).to_contain_text(third.number)
        expect(row).to_contain_text("Damaged goods")
        expect(row).to_contain_text("121.00 EUR")
        expect(row).to_contain_text("portal")
        row.get_by_role("link", name=f"#{dispute.pk}").click()
        expect(clerk_page.locator("#dispute-thread")).to_contain_text("One widget arrived broken")
        with clerk_page.expect_download() as download_info:
            clerk_page.get_by_role("link", name="broken-widget.png").click()
        saved = tmp_path / "downloaded.png"
        download_info.value.save_as(saved)
        assert saved.read_bytes() == photo.read_bytes()
        clerk_page.screenshot(path="/tmp/e2e-portal-dispute-staff.png", full_page=True)
    finally:
        staff_context.close()


def test_the_portal_fits_a_phone(browser, live_server, world):
    two_invoices(world, with_pdf=False)
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        sign_in(page)
        for url in ("/portal/", "/portal/invoices/", "/portal/pay/", "/portal/orders/", "/portal/account/"):
            page.goto(url)
            widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{url} overflows a {PHONE['width']}px phone: {widths}"
        page.screenshot(path="/tmp/e2e-portal-phone.png", full_page=True)
    finally:
        context.close()
    assert refused == []
