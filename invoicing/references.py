"""Structured payment references: the ISO 11649 "RF" creditor reference printed on every
invoice and read back by cash application."""

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10


def rf_reference(invoice_number: str) -> str:
    """The RF creditor reference of an invoice number, e.g. "INV-2026-000124" ->
    "RF71INV2026000124" (letters and digits of the number, check digits per ISO 11649)."""
    body = re.sub(r"[^0-9A-Z]", "", invoice_number.upper())
    if not body or len(body) > 21:
        raise ValueError(f"{invoice_number!r} cannot be an RF reference body (1 to 21 letters and digits).")
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def rf_body(reference: str) -> str | None:
    """The body of a valid RF reference (spaces allowed), or None when it is not one."""
    compact = iso11649.compact(reference)
    return compact[4:] if iso11649.is_valid(compact) else None


def format_rf(reference: str) -> str:
    """Groups of four for print: "RF71 INV2 0260 0012 4"."""
    return iso11649.format(reference)
