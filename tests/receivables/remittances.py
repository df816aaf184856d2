"""A seeded generator of noisy remittances: what customers really send.

Each case is one statement entry and what a careful clerk would do with it (the invoices it
pays, or nothing). Kinds: exact references with assorted separators and lost leading zeros, RF
references, one typo, no reference (payer known by IBAN), combined payments (with and without
references), partial, discounted, over and short (bank fees, small differences) payments, payer
known only by a misspelt name, unknown payers, bank fees and outgoing payments."""

import dataclasses
import datetime
import random
from decimal import Decimal

from invoicing.references import format_rf, rf_reference

KINDS = [
    ("exact_ref", 26),
    ("rf", 10),
    ("typo", 6),
    ("no_ref_iban", 10),
    ("combined_ref", 8),
    ("combined_no_ref", 3),
    ("partial", 6),
    ("discounted", 6),
    ("over", 4),
    ("bank_fees_short", 5),
    ("small_difference", 3),
    ("name_only", 5),
    ("unknown_payer", 4),
    ("bank_fee_line", 2),
    ("outgoing", 2),
]


@dataclasses.dataclass
class Case:
    kind: str
    entry: dict
    expected_invoices: frozenset  # invoice ids it pays; empty = should not be applied
    customer_id: int | None


@dataclasses.dataclass
class Book:
    """The open items the generator may pay: (invoice id, number, customer id, amount, issue date)."""

    items: list[tuple]
    iban_of: dict  # customer id -> IBAN learned earlier (not every customer has one)
    name_of: dict  # customer id -> legal name
    discount_customers: set


def _separators(number: str, rng: random.Random) -> str:
    prefix, year, sequence = number.split("-")
    return rng.choice(
        [
            number,
            f"{prefix} {year} {sequence}",
            f"{prefix}{year}{sequence}",
            f"{prefix}/{year}/{sequence}",
            f"{prefix.lower()}-{year}-{sequence}",
            f"{prefix}-{year}-{int(sequence)}",  # leading zeros lost
            f"{year}-{sequence}",  # prefix left out
            f"{prefix}.{year}.{sequence}",
        ]
    )


def _typo(number: str, rng: random.Random) -> str:
    prefix, year, sequence = number.split("-")
    position = rng.randrange(len(sequence) - 3, len(sequence))
    digit = rng.choice([d for d in "0123456789" if d != sequence[position]])
    return f"{prefix}-{year}-{sequence[:position]}{digit}{sequence[position + 1 :]}"


def _misspell(name: str, rng: random.Random) -> str:
    words = name.upper().split()
    word = rng.randrange(len(words))
    if len(words[word]) > 4:
        cut = rng.randrange(1, len(words[word]) - 1)
        words[word] = words[word][:cut] + words[word][cut + 1 :]
    return " ".join(words)


def generate(book: Book, *, lines: int, seed: int, on: datetime.date) -> list[Case]:
    rng = random.Random(seed)
    by_customer = {}
    for item in book.items:
        by_customer.setdefault(item[2], []).append(item)
    used: set[int] = set()

    def take(customer_id=None, *, discount=None):
        pool = by_customer.get(customer_id, []) if customer_id else book.items
        candidates = [
            item
            for item in pool
            if item[0] not in used and (discount is None or (item[2] in book.discount_customers) == discount)
        ]
        if not candidates:
            return None
        item = rng.choice(candidates)
        used.add(item[0])
        return item

    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    cases = []
    for n in range(lines):
        kind = rng.choice(kinds)
        reference = f"GEN{seed}-{n:05d}"
        item = take(discount=True if kind == "discounted" else False if kind != "outgoing" else None)
        if item is None:
            break
        invoice_id, number, customer_id, amount, issue_date = item
        iban = book.iban_of.get(customer_id, "")
        name = book.name_of[customer_id]
        entry = {"amount": amount, "reference": reference, "iban": iban, "name": name, "remittance": ""}
        expected = frozenset({invoice_id})
        if kind == "exact_ref":
            entry["remittance"] = rng.choice(["Invoice {}", "{}", "Payment {} thank you", "Ref: {}"]).format(
                _separators(number, rng)
            )
        elif kind == "rf":
            entry["structured"] = rng.choice([format_rf(rf_reference(number)), rf_reference(number)])
        elif kind == "typo":
            entry["remittance"] = f"Invoice {_typo(number, rng)}"
        elif kind == "no_ref_iban":
            if not iban:
                entry["iban"] = iban = f"BE{n:02d}TEMP"  # unknown IBAN: the payer is known by name
            entry["remittance"] = rng.choice(["", "Thank you", "Payment November", "Monthly settlement"])
        elif kind in ("combined_ref", "combined_no_ref"):
            other = take(customer_id)
            if other is None:
                entry["remittance"] = number
            else:
                entry["amount"] = amount + other[3]
                expected = frozenset({invoice_id, other[0]})
                if kind == "combined_ref":
                    entry["remittance"] = f"{_separators(number, rng)}, {_separators(other[1], rng)}"
                else:
                    entry["remittance"] = "Invoices October"
        elif kind == "partial":
            entry["amount"] = (amount / 2).quantize(Decimal("0.01"))
            entry["remittance"] = f"Part payment {number}"
        elif kind == "discounted":
            entry["amount"] = amount - (amount * 2 / 100).quantize(Decimal("0.01"))
            entry["remittance"] = f"{number} less 2% discount"
            entry["value_date"] = issue_date + datetime.timedelta(days=rng.randint(1, 10))
        elif kind == "over":
            entry["amount"] = amount + Decimal(rng.choice(["10.00", "25.00", "100.00"]))
            entry["remittance"] = number
        elif kind == "bank_fees_short":
            entry["amount"] = amount - Decimal(rng.choice(["5.00", "7.50", "12.00"]))
            entry["remittance"] = f"INV {number}"
        elif kind == "small_difference":
            entry["amount"] = amount - Decimal(rng.choice(["0.01", "0.30", "1.50"]))
            entry["remittance"] = number
        elif kind == "name_only":
            entry["iban"] = ""
            entry["name"] = _misspell(name, rng)
            entry["remittance"] = "Payment"
        elif kind == "unknown_payer":
            entry.update(iban="", name=f"Stranger {n} GmbH", remittance="Payment for goods")
            entry["amount"] = amount + Decimal("0.37")
            expected = frozenset()
            used.discard(invoice_id)
        elif kind == "bank_fee_line":
            entry.update(amount=Decimal("-4.50"), iban="", name="Our Bank", remittance="Account fee November")
            expected = frozenset()
            used.discard(invoice_id)
        elif kind == "outgoing":
            entry.update(amount=-amount, iban="", name="Supplier SA", remittance="Purchase invoice 4711")
            expected = frozenset()
            used.discard(invoice_id)
        cases.append(Case(kind=kind, entry=entry, expected_invoices=expected, customer_id=customer_id))
    return cases
