"""BAI2 cash-management files with the bai2 library (control totals checked by it). Where it
falls short - an 88 continuation that splits a summary between type code and amount - the
records are joined here first and the account control totals are checked by this module."""

import datetime
from decimal import Decimal

from bai2 import bai2
from bai2.constants import TypeCodeTransaction

from o2c.core.money import minor_units

from .common import ParsedLine, ParsedStatement, StatementFileError

OPENING_LEDGER, CLOSING_LEDGER = "010", "015"
RETURN_CODES = {"555", "564", "566", "567"}  # returned / deposited item returned / charge-back


def _join_continuations(text: str) -> str:
    """One physical line per logical record: each 88 record appended to the record before it."""
    records = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("88,"):
            if not records:
                raise StatementFileError(f"line {number}", "an 88 continuation with no record before it")
            records[-1] = records[-1].rstrip("/") + "," + line[3:]
        else:
            records.append(line)
    return "\n".join(records) + "\n"


def _parse(text: str):
    try:
        return bai2.parse_from_string(text, check_integrity=True), False
    except Exception as first:  # noqa: BLE001 - the library raises its own assorted errors
        try:
            return bai2.parse_from_string(_join_continuations(text), check_integrity=False), True
        except StatementFileError:
            raise
        except Exception:  # noqa: BLE001
            raise StatementFileError("file", f"cannot be read as BAI2 ({first})") from None


def _amount(cents, currency: str) -> Decimal:
    return Decimal(int(cents or 0)).scaleb(-minor_units(currency))


def parse_bai2(data: bytes) -> list[ParsedStatement]:
    text = data.decode("latin-1")
    if not text.lstrip().startswith("01,"):
        raise StatementFileError("line 1", "a BAI2 file starts with an 01 file header")
    parsed, check_here = _parse(text)
    statements = []
    for group_number, group in enumerate(parsed.children, start=1):
        header = group.header
        group_currency = header.currency or "USD"
        as_of: datetime.date = header.as_of_date
        for account_number, account in enumerate(group.children, start=1):
            account_header = account.header
            currency = account_header.currency or group_currency
            where = f"group {group_number} account {account_number} ({account_header.customer_account_number})"
            summaries = {item.type_code.code: item for item in account_header.summary_items}
            opening = summaries.get(OPENING_LEDGER)
            closing = summaries.get(CLOSING_LEDGER)
            lines = []
            for number, tx in enumerate(account.children, start=1):
                code = tx.type_code
                sign = -1 if code.transaction == TypeCodeTransaction.debit else 1
                value_date = (tx.availability or {}).get("date") or as_of
                remittance = " ".join(str(tx.text or "").split())
                lines.append(
                    ParsedLine(
                        where=f"{where} 16 record {number}",
                        booking_date=as_of,
                        value_date=value_date,
                        amount=sign * _amount(tx.amount, currency),
                        currency=currency,
                        bank_reference=str(tx.bank_reference or "").strip()[:120],
                        remittance=" ".join(filter(None, [str(tx.customer_reference or "").strip(), remittance])),
                        transaction_code=str(code.code),
                        is_return=str(code.code) in RETURN_CODES,
                    )
                )
            if check_here and account.trailer is not None:
                control = sum(int(item.amount or 0) for item in account_header.summary_items) + sum(
                    int(tx.amount or 0) for tx in account.children
                )
                if int(account.trailer.account_control_total or 0) != control:
                    raise StatementFileError(
                        f"{where} 49 trailer",
                        f"control total {account.trailer.account_control_total} differs from the records' {control}",
                    )
            statements.append(
                ParsedStatement(
                    where=where,
                    account=str(account_header.customer_account_number),
                    currency=currency,
                    statement_id=(
                        f"{parsed.header.file_id}/{header.originator_id}/{as_of}/"
                        f"{account_header.customer_account_number}/{group_number}.{account_number}"
                    ),
                    from_date=as_of,
                    to_date=as_of,
                    opening_balance=_amount(opening.amount, currency)
                    if opening and opening.amount is not None
                    else None,
                    closing_balance=_amount(closing.amount, currency)
                    if closing and closing.amount is not None
                    else None,
                    lines=lines,
                )
            )
    if not statements:
        raise StatementFileError("file", "holds no account (03) record")
    return statements
