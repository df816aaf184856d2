import dataclasses
import datetime
import hashlib
import re
from decimal import Decimal, InvalidOperation

from o2c.core.errors import DomainError
from o2c.core.money import minor_units

MAX_FILE_BYTES = 50 * 1024 * 1024


class StatementFileError(DomainError):
    """The file cannot be imported; `where` names the line or element."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}", [(where, "file", reason)])
        self.where = where
        self.reason = reason


@dataclasses.dataclass
class ParsedLine:
    where: str  # "Ntry 3 TxDtls 2", "line 14" - for messages
    booking_date: datetime.date
    value_date: datetime.date
    amount: Decimal  # signed, + = money in
    currency: str
    bank_reference: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_id: str = ""
    remittance: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""
    transaction_code: str = ""
    is_return: bool = False

    def content_hash(self, occurrence: int) -> str:
        """A stable key for a bank that gives no reference: what the line says, plus how many
        identical lines came before it on the statement."""
        text = "|".join(
            [
                self.booking_date.isoformat(),
                self.value_date.isoformat(),
                str(self.amount),
                self.currency,
                self.counterparty_name,
                self.counterparty_iban,
                self.remittance,
                self.structured_reference,
                self.end_to_end_id,
                str(occurrence),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclasses.dataclass
class ParsedStatement:
    where: str
    account: str  # IBAN or the bank's account identification, as in the file
    currency: str
    statement_id: str
    from_date: datetime.date | None
    to_date: datetime.date | None
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    lines: list[ParsedLine]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


def money(text: str, currency: str, where: str, *, decimal_comma: bool = False) -> Decimal:
    """A statement amount as Decimal; refused when it has more decimals than the currency has
    (18.150 EUR is fine, 18.155 EUR is not)."""
    raw = (text or "").strip().replace(" ", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise StatementFileError(where, f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise StatementFileError(where, f"{text!r} is not an amount")
    places = minor_units(currency or "EUR")
    rounded = value.quantize(Decimal(1).scaleb(-places))
    if rounded != value:
        raise StatementFileError(where, f"amount {text} has more decimals than {currency} allows")
    return rounded


def parse_date(text: str, where: str, formats=("%Y-%m-%d",)) -> datetime.date:
    text = (text or "").strip()
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text[: len(datetime.date(2000, 12, 31).strftime(fmt))], fmt).date()
        except ValueError:
            continue
    raise StatementFileError(where, f"{text!r} is not a date")


def compact_iban(text: str) -> str:
    return re.sub(r"\s", "", text or "").upper()
