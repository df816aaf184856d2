"""Cash application: which open items a statement line pays, how sure we are, and why.

Rules are tried in order; each gives candidates with a confidence (0..1) and an explanation a
clerk can read. The caller applies the best candidate automatically when its confidence reaches
the threshold in CashApplicationSettings, and shows the rest as suggestions.

Everything is loaded set-based, once per batch of lines: the open items (one query), the payers
known by IBAN, name or tax id (one query each), earlier lines for duplicate detection, and the
payments a return may reverse. No query runs per line.

    1. Finance manager's rules (MatchingRule): text contains X -> ignore / bank fees / customer.
    2. Money out: a direct-debit return or bounced check reverses the payment it returns;
       anything else going out is not customer cash (ignored).
    3. Duplicate: the same payer, amount and remittance as an earlier matched line -> left as
       credit on account, for a clerk to refund (never applied twice automatically).
    4. References in the remittance: RF creditor references, invoice numbers tolerant of spaces,
       separators, lost leading zeros and one typo; several in one remittance.
       Amount vs the items found: exact, discount taken in its window, short within bank-charge
       or write-off limits, partial, or overpaid (the rest stays as credit on account).
    5. Payer without a reference (IBAN learned from earlier matches, tax id, name - fuzzy with
       rapidfuzz): one open item of exactly that amount, one with the discount taken, or a
       combination of open items that sums to the amount (bounded search).
    6. Otherwise unmatched: the exceptions queue.
"""

import dataclasses
import datetime
import itertools
import re
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from invoicing.references import rf_body
from o2c.core.money import round_money
from orders.models import Customer

from .models import CashApplicationSettings, MatchingRule, PayerIdentity, Payment, StatementLine

ZERO = Decimal("0")
RETURN_WORDS = ("RETURN", "RETOUR", "RUECKLASTSCHRIFT", "RÜCKLASTSCHRIFT", "UNPAID", "BOUNCED", "CHARGEBACK", "REJECT")
RF_PATTERN = re.compile(r"RF\s?\d\d(?:[ ]?[A-Z0-9]){1,21}")
RUN_PATTERN = re.compile(r"[A-Z]+|\d+")
SEPARATORS = set(" -_/.:#")
COMBINATION_SIZES = (2, 3, 4)


@dataclasses.dataclass
class OpenItem:
    id: int
    number: str
    customer_id: int
    amount_open: Decimal
    currency: str
    issue_date: datetime.date
    due_date: datetime.date | None
    discount_percent: Decimal
    discount_days: int

    def discounted(self, on: datetime.date, grace_days: int) -> Decimal | None:
        """The amount that settles the item with its early-payment discount, if `on` is inside
        the discount window (plus grace days); None otherwise."""
        if not self.discount_percent or not self.discount_days:
            return None
        if on > self.issue_date + datetime.timedelta(days=self.discount_days + grace_days):
            return None
        return self.amount_open - round_money(self.amount_open * self.discount_percent / 100, self.currency)


@dataclasses.dataclass
class Part:
    item: OpenItem
    cash: Decimal
    discount: Decimal = ZERO
    write_off: Decimal = ZERO
    write_off_reason: str = ""

    def as_dict(self) -> dict:
        return {
            "invoice_id": self.item.id,
            "number": self.item.number,
            "cash": str(self.cash),
            "discount": str(self.discount),
            "write_off": str(self.write_off),
            "write_off_reason": self.write_off_reason,
        }


@dataclasses.dataclass
class Candidate:
    action: str  # apply | on_account | reverse | ignore
    confidence: Decimal
    why: str
    customer_id: int | None = None
    parts: list[Part] = dataclasses.field(default_factory=list)
    reverse_payment_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "confidence": str(self.confidence),
            "why": self.why,
            "customer_id": self.customer_id,
            "parts": [part.as_dict() for part in self.parts],
            "reverse_payment_id": self.reverse_payment_id,
        }


@dataclasses.dataclass
class Outcome:
    line: StatementLine
    candidates: list[Candidate]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def normalise(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


def number_keys(number: str) -> set[str]:
    """Keys an invoice number is found by: all letters and digits ("INV2026000123"), the
    groups without leading zeros ("INV|2026|123"), and the digit groups alone ("2026|123")."""
    runs = RUN_PATTERN.findall(number.upper())
    keys = {normalise(number)}
    grouped = [run.lstrip("0") or "0" if run.isdigit() else run for run in runs]
    keys.add("|".join(grouped))
    digit_groups = [run for run in grouped if run[0].isdigit()]
    if digit_groups and sum(len(group) for group in digit_groups) >= 4:
        keys.add("#" + "|".join(digit_groups))
    return keys


def text_windows(text: str, max_runs: int = 4):
    """Every stretch of 1..4 letter/digit runs joined only by separators, with its keys."""
    runs = [(m.group(), m.start(), m.end()) for m in RUN_PATTERN.finditer(text.upper())]
    for start in range(len(runs)):
        for end in range(start, min(start + max_runs, len(runs))):
            if end > start:
                gap = text[runs[end - 1][2] : runs[end][1]]
                if len(gap) > 2 or not set(gap) <= SEPARATORS:
                    break
            window = [run for run, _, _ in runs[start : end + 1]]
            if not any(run.isdigit() for run in window):
                continue
            raw = "".join(window)
            if sum(c.isdigit() for c in raw) < 3:
                continue
            grouped = [run.lstrip("0") or "0" if run.isdigit() else run for run in window]
            digit_groups = [run for run in grouped if run[0].isdigit()]
            keys = [raw, "|".join(grouped)]
            if window[0].isdigit() and sum(len(group) for group in digit_groups) >= 4:
                keys.append("#" + "|".join(digit_groups))
            yield raw, keys


@dataclasses.dataclass
class Payer:
    customer_id: int
    confidence: Decimal
    how: str


OPEN_ITEM_SQL = """
SELECT i.id, i.number, i.customer_id, i.amount_open, i.currency, i.issue_date, i.due_date,
       t.discount_percent, t.discount_days
  FROM invoicing_invoice i
  JOIN orders_customer c ON c.id = i.customer_id
  JOIN orders_paymentterms t ON t.id = c.payment_terms_id
 WHERE i.status = 'issued' AND i.amount_open > 0 AND ({condition})
"""
# Looked up key by key, a nested loop over the expression indexes of receivables 0004: the
# planner has no statistics for these expressions and would otherwise hash-join every open
# invoice, so the join methods that scan are switched off for this one statement.
KEYED_IDS_SQL = """
SELECT i.id FROM unnest(%s::text[]) AS k(key)
  JOIN invoicing_invoice i ON {expression} = k.key
 WHERE i.status = 'issued' AND i.amount_open > 0
"""
# An invoice number as letters and digits only, then with each digit group's leading zeros
# dropped, then without its letter prefix: what text_windows() produces from a remittance.
ALNUM_SQL = "regexp_replace(upper(i.number), '[^0-9A-Z]', '', 'g')"
STRIPPED_SQL = (
    "regexp_replace(regexp_replace(upper(i.number), '(^|[^0-9])0+([0-9])', '\\1\\2', 'g'), '[^0-9A-Z]', '', 'g')"
)
DIGITS_SQL = f"regexp_replace({STRIPPED_SQL}, '^[A-Z]+', '')"


class Index:
    """What a batch of lines is matched against, loaded once per batch: the payers the lines
    name (by IBAN, name, tax id), then only the open items that can matter - those of these
    payers, those whose number appears in some line's text, those of exactly some line's amount."""

    def __init__(self, lines: list[StatementLine], settings: CashApplicationSettings):
        self.settings = settings
        self.items: dict[int, OpenItem] = {}
        self.by_key: dict[str, list[OpenItem]] = defaultdict(list)
        self.by_customer: dict[int, list[OpenItem]] = defaultdict(list)
        self.by_amount: dict[Decimal, list[OpenItem]] = defaultdict(list)
        ibans = {line.counterparty_iban for line in lines if line.counterparty_iban}
        names = {_name_key(line.counterparty_name) for line in lines if line.counterparty_name}
        self.payer_by_iban = dict(
            PayerIdentity.objects.filter(kind=PayerIdentity.Kind.IBAN, value__in=ibans).values_list(
                "value", "customer_id"
            )
        )
        self.payer_by_name = dict(
            PayerIdentity.objects.filter(kind=PayerIdentity.Kind.NAME, value__in=names).values_list(
                "value", "customer_id"
            )
        )
        tax_ids = {normalise(line.counterparty_id) for line in lines if line.counterparty_id}
        self.customer_by_tax_id = {}
        if tax_ids:
            for customer_id, tax_id in Customer.objects.exclude(tax_id="").values_list("id", "tax_id"):
                if normalise(tax_id) in tax_ids:
                    self.customer_by_tax_id[normalise(tax_id)] = customer_id
        self._customer_names = None
        self.payer_lines: set[int] = set()  # lines whose payer is known before any item is loaded
        self.rules = list(MatchingRule.objects.filter(is_active=True).order_by("priority", "id"))
        self.earlier_lines = _earlier_lines(lines)
        self.payments_by_end_to_end = _payments_for_returns(lines)

    def load_items(self, lines: list[StatementLine], payer_ids: set[int]) -> None:
        raws, stripped, digits = set(), set(), set()
        for line in lines:
            text = " ".join(filter(None, [line.structured_reference, line.remittance])).upper()
            for match in RF_PATTERN.finditer(text):
                body = rf_body(match.group())
                if body:
                    raws.add(body)
            for raw, keys in text_windows(text):
                raws.add(raw)
                stripped.add(keys[1].replace("|", ""))
                if len(keys) > 2:
                    digits.add(keys[2][1:].replace("|", ""))
        amounts = {line.amount for line in lines if line.amount > 0 and line.pk not in self.payer_lines}
        if connection.vendor != "postgresql":  # the embedded SQLite default: small books, load them all
            self._add(self._sql(OPEN_ITEM_SQL.format(condition="1 = 1"), []))
        else:
            # One UNION: each branch uses its own index (receivables 0004, invoice_open_items).
            ids = set()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
                )
                for expression, values in ((ALNUM_SQL, raws), (STRIPPED_SQL, stripped), (DIGITS_SQL, digits)):
                    if values:
                        cursor.execute(KEYED_IDS_SQL.format(expression=expression), [list(values)])
                        ids.update(row[0] for row in cursor.fetchall())
                cursor.execute("RESET enable_seqscan; RESET enable_hashjoin; RESET enable_mergejoin")
            parts, params = [], []
            for condition, values in (
                ("i.id = ANY(%s)", ids),
                ("i.customer_id = ANY(%s)", payer_ids),
                ("i.amount_open = ANY(%s)", amounts),
            ):
                if values:
                    parts.append(OPEN_ITEM_SQL.format(condition=condition))
                    params.append(list(values))
            if parts:
                self._add(self._sql(" UNION ".join(parts), params))
            referenced_customers = {item.customer_id for item in self.items.values()} - payer_ids
            if referenced_customers:  # the other open items of customers named by reference
                self._add(
                    self._sql(OPEN_ITEM_SQL.format(condition="i.customer_id = ANY(%s)"), [list(referenced_customers)])
                )
        for items in self.by_customer.values():
            items.sort(key=lambda item: (item.due_date or item.issue_date, item.id))

    @staticmethod
    def _sql(sql: str, params: list):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _add(self, rows) -> None:
        for row in rows:
            if row[0] in self.items:
                continue
            item = OpenItem(*row)
            self.items[item.id] = item
            for key in number_keys(item.number):
                self.by_key[key].append(item)
            self.by_customer[item.customer_id].append(item)
            self.by_amount[item.amount_open].append(item)

    def customer_names(self):
        if self._customer_names is None:  # only when some line needs a fuzzy name match
            self._customer_names = dict(Customer.objects.filter(is_active=True).values_list("id", "name"))
        return self._customer_names


def _name_key(name: str) -> str:
    return " ".join(re.sub(r"[^0-9A-Z ]", " ", (name or "").upper()).split())[:140]


def _earlier_lines(lines: list[StatementLine]) -> dict[tuple, int]:
    """(iban or name, amount, remittance) -> id of an earlier matched line: duplicate payments."""
    amounts = {line.amount for line in lines if line.amount > 0}
    if not amounts:
        return {}
    ids = [line.pk for line in lines if line.pk]
    earlier = (
        StatementLine.objects.filter(status=StatementLine.Status.MATCHED, amount__in=amounts)
        .exclude(pk__in=ids)
        .exclude(remittance="")
        .values_list("id", "counterparty_iban", "counterparty_name", "amount", "remittance")
    )
    return {(iban or _name_key(name), amount, normalise(text)): pk for pk, iban, name, amount, text in earlier}


def _payments_for_returns(lines: list[StatementLine]) -> dict[str, int]:
    ids = {line.end_to_end_id for line in lines if line.amount < 0 and line.end_to_end_id}
    if not ids:
        return {}
    return dict(
        Payment.objects.filter(end_to_end_id__in=ids)
        .exclude(status=Payment.Status.REVERSED)
        .values_list("end_to_end_id", "id")
    )


def match_lines(lines: list[StatementLine], settings: CashApplicationSettings | None = None) -> list[Outcome]:
    settings = settings or CashApplicationSettings.current()
    index = Index(lines, settings)
    payers = {}
    for line in lines:
        forced = _rule_customer(line, index)
        payers[line.pk] = forced or (_payer(line, index) if line.amount > 0 else None)
    index.payer_lines = {line_id for line_id, payer in payers.items() if payer}
    index.load_items(lines, {payer.customer_id for payer in payers.values() if payer})
    outcomes = []
    claimed: dict[int, Decimal] = defaultdict(lambda: ZERO)  # what earlier lines of this batch take
    for line in lines:
        candidates = _candidates(line, index, claimed, payers.get(line.pk))
        candidates.sort(key=lambda candidate: candidate.confidence, reverse=True)
        best = candidates[0] if candidates else None
        if best and best.action == "apply" and best.confidence >= settings.auto_apply_threshold:
            for part in best.parts:
                claimed[part.item.id] += part.cash + part.discount + part.write_off
        outcomes.append(Outcome(line=line, candidates=candidates[:4]))
    return outcomes


def _rule_customer(line: StatementLine, index: Index) -> Payer | None:
    for rule in _rules_for(line, index):
        if rule.action == MatchingRule.Action.ASSIGN_CUSTOMER:
            return Payer(rule.customer_id, Decimal("1"), f"rule {rule.name!r}")
        return None
    return None


def _rules_for(line: StatementLine, index: Index):
    haystack = " ".join([line.structured_reference, line.remittance, line.counterparty_name]).upper()
    return [rule for rule in index.rules if rule.text_contains.upper() in haystack]


def _candidates(line: StatementLine, index: Index, claimed, payer: Payer | None) -> list[Candidate]:
    text = " ".join(filter(None, [line.structured_reference, line.remittance])).upper()
    for rule in _rules_for(line, index)[:1]:
        if rule.action != MatchingRule.Action.ASSIGN_CUSTOMER:
            return [Candidate("ignore", Decimal("1"), f"Rule {rule.name!r}: text contains {rule.text_contains!r}")]
    if line.amount < 0:
        return _money_out(line, text, index)
    duplicate_of = index.earlier_lines.get(
        (line.counterparty_iban or _name_key(line.counterparty_name), line.amount, normalise(line.remittance))
    )
    if duplicate_of:
        return [
            Candidate(
                "on_account",
                Decimal("0.6"),
                f"Possible duplicate of statement line #{duplicate_of} (same payer, amount and remittance); "
                "left as credit on account for a refund or a clerk's decision.",
                customer_id=payer.customer_id if payer else None,
            )
        ]
    hits, how = _referenced_items(line, text, index, payer)
    candidates = []
    if hits:
        candidates.extend(_by_reference(line, hits, how, payer, index, claimed))
    if payer and not any(c.confidence >= index.settings.auto_apply_threshold for c in candidates):
        candidates.extend(_by_payer(line, payer, index, claimed))
    if payer and not candidates:
        candidates.append(
            Candidate(
                "on_account",
                Decimal("0.5") * payer.confidence,
                f"Payer is {_customer_label(payer)}, but no open item or combination matches "
                f"{line.amount} {line.currency}; put it on the customer's account or split it by hand.",
                customer_id=payer.customer_id,
            )
        )
    return candidates


def _customer_label(payer: Payer) -> str:
    return f"customer #{payer.customer_id} ({payer.how})"


def _money_out(line: StatementLine, text: str, index: Index) -> list[Candidate]:
    is_return = line.is_return or any(word in text for word in RETURN_WORDS)
    if not is_return:
        return [Candidate("ignore", Decimal("1"), "Money going out: not a customer receipt.")]
    payment_id = index.payments_by_end_to_end.get(line.end_to_end_id) if line.end_to_end_id else None
    if payment_id:
        return [
            Candidate(
                "reverse",
                Decimal("0.99"),
                f"Return of payment #{payment_id} (same end-to-end id {line.end_to_end_id}): the payment is "
                "reversed and the invoices it paid are open again.",
                reverse_payment_id=payment_id,
            )
        ]
    found = _returned_payment(line, text)
    if found:
        return [
            Candidate(
                "reverse",
                Decimal("0.92"),
                f"Returned or bounced: payment #{found.pk} of {found.amount} {found.currency} to the invoice named "
                "in the text is reversed and the invoice reopened.",
                reverse_payment_id=found.pk,
            )
        ]
    return [
        Candidate("ignore", Decimal("0.4"), "Looks like a return, but no applied payment of that amount was found.")
    ]


def _returned_payment(line: StatementLine, text: str):
    numbers = [raw for raw, _ in text_windows(text)]
    if not numbers:
        return None
    payments = (
        Payment.objects.filter(amount=-line.amount, currency=line.currency)
        .exclude(status=Payment.Status.REVERSED)
        .prefetch_related("allocations__invoice")
        .order_by("-value_date", "-id")[:20]
    )
    for payment in payments:
        for allocation in payment.allocations.all():
            if normalise(allocation.invoice.number) in numbers:
                return payment
    return None


def _payer(line: StatementLine, index: Index) -> Payer | None:
    if line.counterparty_iban and line.counterparty_iban in index.payer_by_iban:
        return Payer(index.payer_by_iban[line.counterparty_iban], Decimal("1"), "IBAN known from earlier payments")
    if line.counterparty_id and normalise(line.counterparty_id) in index.customer_by_tax_id:
        return Payer(index.customer_by_tax_id[normalise(line.counterparty_id)], Decimal("0.98"), "tax id")
    name = _name_key(line.counterparty_name)
    if not name:
        return None
    if name in index.payer_by_name:
        return Payer(index.payer_by_name[name], Decimal("0.97"), "payer name known from earlier payments")
    found = process.extractOne(
        name,
        index.customer_names(),
        scorer=fuzz.token_sort_ratio,
        processor=_name_key,
        score_cutoff=index.settings.name_match_score - 15,
    )
    if not found:
        return None
    _, score, customer_id = found
    confidence = Decimal("0.97") if score >= index.settings.name_match_score else Decimal("0.75")
    return Payer(customer_id, confidence, f"name resembles the customer's ({score:.0f}%)")


def _referenced_items(line: StatementLine, text: str, index: Index, payer: Payer | None):
    """Open items named in the text, and how each was found (for the explanation)."""
    found: dict[int, str] = {}
    for match in RF_PATTERN.finditer(text):
        body = rf_body(match.group())
        if body:
            for item in index.by_key.get(body, []):
                found.setdefault(item.id, f"RF reference {match.group().replace(' ', '')}")
    leftovers = []
    for raw, keys in text_windows(text):
        hit = False
        for key in keys:
            items = index.by_key.get(key, [])
            if payer and len(items) > 1:
                items = [item for item in items if item.customer_id == payer.customer_id] or items
            if len(items) == 1:
                found.setdefault(items[0].id, f"invoice number {items[0].number} in the text ({raw})")
                hit = True
                break
        if not hit and len(raw) >= 6:
            leftovers.append(raw)
    if not found and leftovers:  # one typo: only among the payer's items, or items of exactly this amount
        pool = index.by_customer.get(payer.customer_id, []) if payer else index.by_amount.get(line.amount, [])
        for raw in leftovers:
            close = [item for item in pool if Levenshtein.distance(raw, normalise(item.number), score_cutoff=1) <= 1]
            if len(close) == 1:
                found.setdefault(close[0].id, f"invoice number {close[0].number} with one typo ({raw})")
    items = [index.items[item_id] for item_id in found]
    how = {item_id: text for item_id, text in found.items()}
    return items, how


def _by_reference(line, hits, how, payer, index: Index, claimed) -> list[Candidate]:
    settings = index.settings
    hits = [item for item in hits if item.currency == line.currency]
    if not hits:
        return []
    customers = {item.customer_id for item in hits}
    if len(customers) > 1:
        return [
            Candidate(
                "apply",
                Decimal("0.5"),
                "The text names invoices of several customers: " + ", ".join(item.number for item in hits),
                parts=[],
            )
        ]
    customer_id = customers.pop()
    base = Decimal("0.99")
    notes = [how[item.id] for item in hits]
    if any("typo" in note for note in notes):
        base = Decimal("0.96")
    if payer and payer.customer_id != customer_id:
        base = Decimal("0.6")
        notes.append(f"but the payer looks like another customer ({payer.how})")
    hits = sorted(hits, key=lambda item: (item.due_date or item.issue_date, item.id))
    open_of = {item.id: item.amount_open - claimed[item.id] for item in hits}
    if not payer and line.amount != sum(open_of.values(), ZERO):
        base = min(base, Decimal("0.85"))  # nothing but the text says who pays, and the amount differs
        notes.append("the payer is not known and the amount differs")
    if any(value <= 0 for value in open_of.values()):
        base = min(base, Decimal("0.6"))
        notes.append("an earlier line of this import already settles one of them")
        open_of = {key: max(value, ZERO) for key, value in open_of.items()}
    total = sum(open_of.values(), ZERO)
    amount = line.amount
    if amount != total and len(hits) == 1 and payer and payer.customer_id == customer_id:
        neighbour = _typo_neighbour(hits[0], amount, index, claimed)
        if neighbour:
            return [
                Candidate(
                    "apply",
                    Decimal("0.95"),
                    f"The text names {hits[0].number} ({hits[0].amount_open} open), but {neighbour.number}, one "
                    f"character away, is open for exactly {amount}: taken as a typo.",
                    customer_id,
                    [Part(neighbour, amount)],
                )
            ]
    found = "; ".join(notes)
    label = ", ".join(item.number for item in hits)
    if amount == total:
        return [
            Candidate(
                "apply",
                base,
                f"Pays {label} exactly: {found}.",
                customer_id,
                [Part(item, open_of[item.id]) for item in hits],
            )
        ]
    if amount > total:
        return [
            Candidate(
                "apply",
                base - Decimal("0.03"),
                f"Pays {label} ({total}) and {amount - total} more, left as credit on account: {found}.",
                customer_id,
                [Part(item, open_of[item.id]) for item in hits],
            )
        ]
    discounted = [item.discounted(line.value_date, settings.discount_grace_days) for item in hits]
    if all(value is not None for value in discounted) and sum(discounted, ZERO) == amount:
        parts = [
            Part(item, value, discount=open_of[item.id] - value) for item, value in zip(hits, discounted, strict=False)
        ]
        return [
            Candidate(
                "apply",
                base - Decimal("0.02"),
                f"Pays {label} with the early-payment discount taken inside its window "
                f"({total - amount} discount): {found}.",
                customer_id,
                parts,
            )
        ]
    short = total - amount
    if short <= settings.bank_charges_limit:
        reason = "small_difference" if short <= settings.write_off_limit else "bank_charges"
        parts = [Part(item, open_of[item.id]) for item in hits]
        last = parts[-1]
        take = min(short, last.cash)
        last.cash -= take
        last.write_off = take
        last.write_off_reason = reason
        if last.cash <= 0:  # the whole short amount cannot sit on one tiny item
            return [Candidate("apply", Decimal("0.5"), f"Short by {short} on {label}: {found}.", customer_id, [])]
        what = "bank charges" if reason == "bank_charges" else "a small difference"
        return [
            Candidate(
                "apply",
                base - Decimal("0.05"),
                f"Pays {label} short by {short}, written off as {what}: {found}.",
                customer_id,
                parts,
            )
        ]
    parts, left = [], amount
    for item in hits:  # partial: oldest due first
        take = min(left, open_of[item.id])
        if take > 0:
            parts.append(Part(item, take))
        left -= take
    return [
        Candidate(
            "apply",
            base - Decimal("0.04"),
            f"Partial payment of {amount} against {label} ({total} open; {total - amount} stays open): {found}.",
            customer_id,
            parts,
        )
    ]


def _typo_neighbour(hit: OpenItem, amount: Decimal, index: Index, claimed) -> OpenItem | None:
    """Another open item of the same customer, one character from the named number, open for
    exactly the amount paid: the payer mistyped a digit that made another valid number."""
    number = normalise(hit.number)
    close = [
        item
        for item in index.by_customer.get(hit.customer_id, [])
        if item.id != hit.id
        and item.amount_open - claimed[item.id] == amount
        and Levenshtein.distance(number, normalise(item.number), score_cutoff=1) <= 1
    ]
    return close[0] if len(close) == 1 else None


def _by_payer(line, payer: Payer, index: Index, claimed) -> list[Candidate]:
    settings = index.settings
    items = [
        item
        for item in index.by_customer.get(payer.customer_id, [])
        if item.currency == line.currency and item.amount_open - claimed[item.id] > 0
    ]
    amount = line.amount
    who = _customer_label(payer)
    exact = [item for item in items if item.amount_open - claimed[item.id] == amount]
    if len(exact) == 1:
        item = exact[0]
        return [
            Candidate(
                "apply",
                Decimal("0.95") * payer.confidence,
                f"No reference; payer is {who} and {item.number} is their only open item of exactly {amount}.",
                payer.customer_id,
                [Part(item, amount)],
            )
        ]
    if len(exact) > 1:
        return [
            Candidate(
                "apply",
                Decimal("0.7") * payer.confidence,
                f"No reference; payer is {who}; {item.number} is the oldest of {len(exact)} open items of {amount}.",
                payer.customer_id,
                [Part(item, amount)],
            )
            for item in exact[:3]
        ]
    discounted = [
        (item, value)
        for item in items
        if (value := item.discounted(line.value_date, settings.discount_grace_days)) is not None and value == amount
    ]
    if len(discounted) == 1:
        item, value = discounted[0]
        return [
            Candidate(
                "apply",
                Decimal("0.93") * payer.confidence,
                f"No reference; payer is {who}; {item.number} less its early-payment discount is exactly {amount}.",
                payer.customer_id,
                [Part(item, value, discount=item.amount_open - value)],
            )
        ]
    combinations = _combinations(items[: settings.combination_max_items], amount, claimed)
    if len(combinations) == 1:
        chosen = combinations[0]
        return [
            Candidate(
                "apply",
                Decimal("0.93") * payer.confidence,
                f"No reference; payer is {who}; {len(chosen)} of their open items add up to exactly {amount}: "
                + ", ".join(item.number for item in chosen),
                payer.customer_id,
                [Part(item, item.amount_open - claimed[item.id]) for item in chosen],
            )
        ]
    return [
        Candidate(
            "apply",
            Decimal("0.6") * payer.confidence,
            f"No reference; payer is {who}; {len(chosen)} open items add up to {amount} (one of "
            f"{len(combinations)} such combinations): " + ", ".join(item.number for item in chosen),
            payer.customer_id,
            [Part(item, item.amount_open - claimed[item.id]) for item in chosen],
        )
        for chosen in combinations[:3]
    ]


def _combinations(items: list[OpenItem], amount: Decimal, claimed) -> list[tuple[OpenItem, ...]]:
    """Sets of 2..4 items summing exactly to `amount` (at most 14 items: ~1,500 sets). Stops
    after finding two: more than one means a clerk decides."""
    found = []
    for size in COMBINATION_SIZES:
        for combination in itertools.combinations(items, size):
            if sum((item.amount_open - claimed[item.id] for item in combination), ZERO) == amount:
                found.append(combination)
                if len(found) > 1:
                    return found
    return found
