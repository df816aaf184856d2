"""Bank CSV exports, read through the bank's saved column mapping (CsvMapping)."""

import csv
import hashlib
import io
from decimal import Decimal

from .common import ParsedLine, ParsedStatement, StatementFileError, compact_iban, money, parse_date


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _column(header: list[str] | None, name: str, where: str):
    """A column by header text (case-insensitive) or by position ("0" = first); None if unset."""
    if not name:
        return None
    if name.isdigit():
        return int(name)
    if header is None:
        raise StatementFileError(where, f"the mapping names column {name!r} but the file has no header row")
    lowered = [cell.strip().lower() for cell in header]
    if name.strip().lower() not in lowered:
        raise StatementFileError(where, f"no column {name!r} (the header has: {', '.join(header)})")
    return lowered.index(name.strip().lower())


def _amount(text: str, mapping, currency: str, where: str) -> Decimal:
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not raw:
        return Decimal("0")
    raw = raw.replace(".", "").replace(",", ".") if mapping.decimal_separator == "," else raw.replace(",", "")
    return money(raw, currency, where)


def parse_csv(data: bytes, mapping, *, default_currency: str) -> list[ParsedStatement]:
    text = _decode(data)
    rows = list(csv.reader(io.StringIO(text), delimiter=mapping.delimiter or ","))
    start = 0
    if mapping.header_starts_with:
        for index, row in enumerate(rows):
            if row and row[0].strip().lower().startswith(mapping.header_starts_with.lower()):
                start = index
                break
        else:
            raise StatementFileError("file", f"no header row starting with {mapping.header_starts_with!r}")
    header = rows[start] if mapping.has_header and rows[start:] else None
    first_data = start + (1 if mapping.has_header else 0)
    where_header = f"line {start + 1} (header)"
    columns = {
        field: _column(header, getattr(mapping, f"{field}_column"), where_header)
        for field in (
            "date",
            "amount",
            "debit",
            "credit",
            "sign",
            "currency",
            "text",
            "counterparty_name",
            "counterparty_iban",
            "reference",
            "balance",
        )
    }
    if columns["date"] is None or (
        columns["amount"] is None and columns["debit"] is None and columns["credit"] is None
    ):
        raise StatementFileError("mapping", "needs a date column and an amount column (or debit and credit columns)")
    formats = tuple(part.strip() for part in mapping.date_format.split("|") if part.strip())
    lines, balances = [], []
    for index in range(first_data, len(rows)):
        row = rows[index]
        where = f"line {index + 1}"
        if not any(cell.strip() for cell in row):
            continue

        def cell(field, row=row, where=where):
            position = columns[field]
            if position is None:
                return ""
            if position >= len(row):
                raise StatementFileError(where, f"has {len(row)} columns; the {field} column is number {position + 1}")
            return row[position].strip()

        currency = (cell("currency") or default_currency).upper()
        if columns["amount"] is not None:
            amount = _amount(cell("amount"), mapping, currency, f"{where}, amount")
            if columns["sign"] is not None:
                marker = cell("sign").upper()
                amount = -abs(amount) if marker == mapping.debit_marker.upper() else abs(amount)
        else:
            credit = _amount(cell("credit"), mapping, currency, f"{where}, credit")
            debit = _amount(cell("debit"), mapping, currency, f"{where}, debit")
            amount = credit - abs(debit) if debit else credit
        if mapping.invert_sign:
            amount = -amount
        booking_date = parse_date(cell("date"), f"{where}, date", formats)
        if columns["balance"] is not None:
            balances.append((where, _amount(cell("balance"), mapping, currency, f"{where}, balance"), amount))
        lines.append(
            ParsedLine(
                where=where,
                booking_date=booking_date,
                value_date=booking_date,
                amount=amount,
                currency=currency,
                bank_reference=cell("reference")[:120],
                counterparty_name=cell("counterparty_name")[:140],
                counterparty_iban=compact_iban(cell("counterparty_iban"))[:34],
                remittance=cell("text"),
                transaction_code={"check": "CHK", "card": "CARD", "cash": "CASH"}.get(
                    getattr(mapping, "payment_method", ""), ""
                ),
            )
        )
    opening = closing = None
    if balances:
        opening = balances[0][1] - balances[0][2]
        running = opening
        for where, balance, amount in balances:
            running += amount
            if running != balance:
                raise StatementFileError(
                    where, f"the running balance says {balance}, the lines before it add up to {running}"
                )
        closing = balances[-1][1]
    dates = [line.booking_date for line in lines]
    currencies = {line.currency for line in lines}
    return [
        ParsedStatement(
            where="file",
            account="",
            currency=currencies.pop() if len(currencies) == 1 else default_currency,
            statement_id="csv:" + hashlib.sha256(data).hexdigest()[:32],
            from_date=min(dates) if dates else None,
            to_date=max(dates) if dates else None,
            opening_balance=opening,
            closing_balance=closing,
            lines=lines,
        )
    ]
