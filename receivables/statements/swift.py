"""SWIFT MT940 customer statements with the mt-940 library, one statement (:20: ... :62F:)
at a time so each keeps its own balances; the ASN Bank variant (counter-party on the line
after :61:) with the library's ASNB tag. MT942 interim reports are refused: not a statement."""

import contextlib
import datetime
import io
import logging
import re

import mt940
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from .common import ParsedLine, ParsedStatement, StatementFileError, compact_iban, money

logging.getLogger("mt940").setLevel(logging.CRITICAL)  # its debug output is no message for a clerk
NO_REFERENCE = {"", "NONREF", "NOTPROVIDED", "NONE"}
IBAN_AT_START = re.compile(r"^([A-Z]{2}\d{2}[A-Z0-9]{10,30})")


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # A stray control character (one bank sends one) is not content.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", text).replace("\r\n", "\n").replace("\r", "\n")


def _chunks(text: str) -> list[tuple[int, str]]:
    """The statements of a file: each starts at a :20: tag. Returns (first line number, text)."""
    lines = text.split("\n")
    starts = [number for number, line in enumerate(lines) if line.startswith(":20:")]
    if not starts:
        raise StatementFileError("line 1", "no :20: tag: this is not an MT940 statement")
    starts.append(len(lines))
    return [(start + 1, "\n".join(lines[start : starts[i + 1]])) for i, start in enumerate(starts[:-1])]


def _parse_chunk(chunk: str, where: str):
    quiet = io.StringIO()
    errors = []
    for tags in (None, "asnb"):
        transactions = (
            mt940.models.Transactions()
            if tags is None
            else mt940.models.Transactions(tags={mt940.tags.StatementASNB().id: mt940.tags.StatementASNB()})
        )
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                transactions.parse(chunk)
        except Exception as error:  # noqa: BLE001 - the library raises bare RuntimeError/ValueError
            errors.append(_reason(error))
            continue
        if chunk.count("\n:61:") + chunk.startswith(":61:") == len(transactions.transactions):
            return transactions
        errors.append(f"read {len(transactions.transactions)} of {chunk.count(':61:')} :61: lines")
    raise StatementFileError(where, f"cannot be read as MT940 ({errors[0]})")


def _reason(error: Exception) -> str:
    """The library says "Unable to parse <tag object> from 'data'"; say which tag and what."""
    if len(error.args) >= 3 and hasattr(error.args[1], "id"):
        return f"tag :{error.args[1].id}: cannot be read from {str(error.args[2])[:40]!r}"
    return str(error).splitlines()[0][:120]


def _date(value) -> datetime.date | None:
    return datetime.date(value.year, value.month, value.day) if value else None


def _balance(data, *keys):
    for key in keys:
        balance = data.get(key)
        if balance is not None:
            return balance
    return None


def parse_mt940(data: bytes) -> list[ParsedStatement]:
    text = _text(data)
    if re.search(r"^:34F:", text, re.MULTILINE) or re.search(r"^:13D?:", text, re.MULTILINE):
        raise StatementFileError(
            "line 1", "this is an MT942 interim transaction report, not an MT940 statement; import the MT940"
        )
    statements = []
    for index, (first_line, chunk) in enumerate(_chunks(text), start=1):
        where = f"statement {index} (line {first_line})"
        parsed = _parse_chunk(chunk, where)
        info = parsed.data
        opening = _balance(info, "final_opening_balance", "opening_balance", "intermediate_opening_balance")
        closing = _balance(info, "final_closing_balance", "closing_balance", "intermediate_closing_balance")
        currency = (opening or closing).amount.currency if (opening or closing) else ""
        if not parsed.transactions and (opening is None or closing is None):
            raise StatementFileError(where, "has neither transactions nor opening and closing balances (:60F:/:62F:)")
        lines = []
        for number, tx in enumerate(parsed.transactions, start=1):
            lines.append(_line(tx.data, f"{where} :61: {number}", currency))
        currency = currency or (lines[0].currency if lines else "EUR")

        def amount(balance, label, currency=currency, where=where):
            if balance is None:
                return None
            return money(str(balance.amount.amount), currency, f"{where} {label}")

        statement_id = "/".join(
            str(part)
            for part in (info.get("transaction_reference"), info.get("statement_number"), info.get("sequence_number"))
            if part
        )
        dates = [line.booking_date for line in lines]
        statements.append(
            ParsedStatement(
                where=where,
                account=str(info.get("account_identification") or "").strip(),
                currency=currency,
                statement_id=statement_id,
                from_date=_date(opening.date) if opening is not None else (min(dates) if dates else None),
                to_date=_date(closing.date) if closing is not None else (max(dates) if dates else None),
                opening_balance=amount(opening, ":60F:"),
                closing_balance=amount(closing, ":62F:"),
                lines=lines,
            )
        )
    return statements


def _line(tx: dict, where: str, currency: str) -> ParsedLine:
    value = tx.get("amount")
    if value is None:
        raise StatementFileError(where, "has no amount")
    line_currency = tx.get("currency") or value.currency or currency
    if not re.fullmatch(r"[A-Z]{3}", str(line_currency or "")):
        line_currency = currency or "EUR"
    amount = money(str(value.amount), line_currency, f"{where} amount")
    value_date = _date(tx.get("date"))
    booking_date = _date(tx.get("entry_date")) or value_date
    if value_date is None:
        raise StatementFileError(where, "has no value date")
    details = tx.get("transaction_details") or ""
    purpose = " ".join(str(tx.get(key) or "") for key in ("purpose", "additional_purpose") if tx.get(key)).strip()
    name = (tx.get("applicant_name") or "").strip()
    iban = compact_iban(tx.get("applicant_iban") or tx.get("gvc_applicant_iban") or "")
    if name and not iban and IBAN_AT_START.match(name):  # some banks glue ?31 IBAN and ?32 name together
        iban, name = _split_glued_iban(name)
    reference = (tx.get("bank_reference") or "").strip()
    if reference.upper() in NO_REFERENCE:
        reference = ""
    end_to_end = (tx.get("end_to_end_reference") or "").strip()
    if end_to_end.upper() in NO_REFERENCE:
        end_to_end = ""
    code = str(tx.get("id") or "")
    remittance = purpose or " ".join(details.split())
    customer_reference = (tx.get("customer_reference") or "").strip()
    if customer_reference and customer_reference.upper() not in NO_REFERENCE:
        remittance = f"{remittance} {customer_reference}".strip()
    return ParsedLine(
        where=where,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        currency=line_currency,
        bank_reference=reference[:120],
        counterparty_name=" ".join(name.split())[:140],
        counterparty_iban=iban[:34],
        remittance=remittance,
        end_to_end_id=end_to_end[:64],
        transaction_code=code[:40],
        is_return=code.upper() in {"NRTI", "NRET"} or bool(tx.get("return_debit_notes")),
    )


def _split_glued_iban(text: str) -> tuple[str, str]:
    for length in range(34, 14, -1):
        try:
            return IBAN(text[:length]).compact, text[length:].strip()
        except SchwiftyException:
            continue
    return "", text
