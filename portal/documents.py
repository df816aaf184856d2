"""The statement of account as PDF: rendered in the request (one customer, one period). The
builder and its PDF live in receivables (shared with the AR desk and the monthly statements)."""

from receivables.account_statement import Statement
from receivables.account_statement import statement_pdf as _statement_pdf


def statement_pdf(statement: Statement) -> bytes:
    return _statement_pdf(statement)
