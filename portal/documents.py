"""The statement of account as PDF: rendered in the request (one customer, one period)."""

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML

from invoicing.documents import DATA_ONLY_FETCHER

from .selectors import Statement


def statement_pdf(statement: Statement) -> bytes:
    html = render_to_string("portal/statement_pdf.html", {"statement": statement, "company": settings.O2C_COMPANY})
    return HTML(string=html, url_fetcher=DATA_ONLY_FETCHER).write_pdf()
