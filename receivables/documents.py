"""Dunning letter PDFs: a pure function from a letter to bytes (WeasyPrint, data: URLs only)."""

from django.template.loader import render_to_string

from invoicing import links
from invoicing.documents import DATA_ONLY_FETCHER, branding
from invoicing.references import format_rf
from invoicing.services import current_company, seller_snapshot

from .models import DunningLetter


def letter_context(letter: DunningLetter) -> dict:
    letter = DunningLetter.objects.select_related("run", "customer", "level", "charge").get(pk=letter.pk)
    items = list(letter.items.select_related("invoice", "level").order_by("invoice__due_date", "invoice_id"))
    for item in items:
        item.reference = format_rf(item.invoice.rf_reference) if item.invoice.rf_reference else ""
        item.pay_link = links.pay_link(item.invoice)
    return {
        "letter": letter,
        "run": letter.run,
        "customer": letter.customer,
        "level": letter.level,
        "items": items,
        "total": letter.total_overdue + letter.fee + letter.interest,
        "seller": seller_snapshot(current_company(), letter.currency),
        "charge_rf": format_rf(letter.charge.rf_reference) if letter.charge_id and letter.charge.rf_reference else "",
        "brand": branding(),
    }


def letter_html(letter: DunningLetter) -> str:
    return render_to_string("receivables/dunning_letter.html", letter_context(letter))


def letter_pdf(letter: DunningLetter) -> bytes:
    from weasyprint import HTML  # loaded only where letters are rendered

    return HTML(string=letter_html(letter), url_fetcher=DATA_ONLY_FETCHER).write_pdf()
