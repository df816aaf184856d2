"""Cash application writes: bank statements in, payments recorded and applied, returns reversed.

Each function is one transaction. Applying is set-based (a statement of 10,000 lines is a few
bulk statements, not 10,000 round trips) and safe against a second clerk or a parallel import:
the statement lines and the invoices are locked (FOR UPDATE, in id order) before anything is
decided, the payment's idempotency key is the statement line, and the database constraints
(open amount between 0 and the total, applied within the payment) back it all up."""

import dataclasses
import datetime
import hashlib
from collections import defaultdict
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from invoicing.models import BankAccount, Invoice
from o2c.core.models import TimelineEvent
from orders.models import Customer

from .matching import Candidate, OpenItem, Part, _name_key, match_lines
from .models import (
    Account,
    Allocation,
    BankStatement,
    CashApplicationSettings,
    CsvMapping,
    JournalEntry,
    JournalLine,
    PayerIdentity,
    Payment,
    StatementLine,
)
from .services import ReceivablesError
from .statements import ParsedStatement, StatementFileError, parse_file
from .statements.common import compact_iban

ZERO = Decimal("0")


# Statement import ---------------------------------------------------------------------------------
@dataclasses.dataclass
class ImportResult:
    statements: list[BankStatement]
    lines_in_file: int = 0
    lines_added: int = 0
    already_imported: int = 0
    existing_statements: list = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def new_line_ids(self) -> list[int]:
        return [line_id for statement in self.statements for line_id in getattr(statement, "new_line_ids", [])]


def _looks_like_iban(text: str) -> bool:
    return len(text) >= 15 and text[:2].isalpha() and text[2:4].isdigit()


def _check_statement(statement: ParsedStatement, bank_account: BankAccount) -> None:
    account = compact_iban(statement.account)
    if account and _looks_like_iban(account) and account != compact_iban(bank_account.iban):
        raise StatementFileError(
            f"{statement.where}, account", f"the statement is for {account}, not for {bank_account.iban}"
        )
    if statement.currency != bank_account.currency:
        raise StatementFileError(
            f"{statement.where}, currency",
            f"the statement is in {statement.currency}, the account in {bank_account.currency}",
        )
    for line in statement.lines:
        if line.currency != bank_account.currency:
            raise StatementFileError(line.where, f"amount in {line.currency} on a {bank_account.currency} account")
    if statement.opening_balance is not None and statement.closing_balance is not None:
        expected = statement.opening_balance + statement.total
        if expected != statement.closing_balance:
            raise StatementFileError(
                f"{statement.where}, balances",
                f"opening balance {statement.opening_balance} + lines {statement.total} = {expected}, "
                f"but the closing balance is {statement.closing_balance}",
            )


def _line_keys(statement: ParsedStatement) -> list[str]:
    references = defaultdict(int)
    for line in statement.lines:
        if line.bank_reference:
            references[line.bank_reference] += 1
    seen = defaultdict(int)
    keys = []
    for line in statement.lines:
        if line.bank_reference and references[line.bank_reference] == 1:
            keys.append(f"ref:{line.bank_reference}"[:120])
            continue
        fingerprint = line.content_hash(0)
        seen[fingerprint] += 1
        keys.append(f"hash:{line.content_hash(seen[fingerprint])}")
    return keys


def _statement_key(statement: ParsedStatement) -> str:
    """Banks reuse statement numbers (one a year, one a day...): the bank's id with the period
    and opening balance names a statement; without an id, its content does."""
    if statement.statement_id:
        return f"{statement.statement_id}|{statement.from_date}|{statement.opening_balance}"
    content = repr(
        (
            statement.account,
            statement.from_date,
            statement.to_date,
            statement.opening_balance,
            [(line.amount, line.bank_reference, line.remittance) for line in statement.lines],
        )
    )
    return "sha:" + hashlib.sha256(content.encode()).hexdigest()[:40]


def import_statement_file(
    *, bank_account: BankAccount, data: bytes, file_name: str = "", by=None, csv_mapping: CsvMapping | None = None
) -> ImportResult:
    """Read a statement file and store its statements and lines, all or nothing.

    Refused (StatementFileError naming the line or element, nothing stored) when the file cannot
    be read, is for another account or currency, or its balances do not add up. A statement
    imported before is skipped; a line seen before (same bank reference, or same content when
    the bank gives none) is not added again, so overlapping statements add only what is new."""
    if csv_mapping is None:
        csv_mapping = CsvMapping.objects.filter(bank_account=bank_account).first()
    file_format, parsed = parse_file(data, file_name, csv_mapping=csv_mapping, default_currency=bank_account.currency)
    for statement in parsed:
        _check_statement(statement, bank_account)
    sha = hashlib.sha256(data).hexdigest()
    result = ImportResult(statements=[])
    with transaction.atomic():
        BankAccount.objects.select_for_update().get(pk=bank_account.pk)  # one import per account at a time
        for statement in parsed:
            result.lines_in_file += len(statement.lines)
            key = _statement_key(statement)
            existing = BankStatement.objects.filter(bank_account=bank_account, statement_key=key[:200]).first()
            if existing:
                result.already_imported += 1
                result.existing_statements.append(existing)
                continue
            stored = _store_statement(bank_account, statement, key[:200], file_format, file_name, sha, by)
            result.statements.append(stored)
            result.lines_added += stored.lines_added
            if stored.continuity_difference:
                result.warnings.append(
                    f"{statement.where}: opening balance {stored.opening_balance} differs from the previous "
                    f"statement's closing balance by {stored.continuity_difference}"
                )
    return result


def _store_statement(bank_account, statement: ParsedStatement, key, file_format, file_name, sha, by) -> BankStatement:
    previous = (
        BankStatement.objects.filter(bank_account=bank_account, closing_balance__isnull=False)
        .filter(to_date__lte=statement.from_date or statement.to_date or datetime.date.max)
        .order_by("-to_date", "-id")
        .first()
    )
    difference = None
    if previous and statement.opening_balance is not None:
        difference = (statement.opening_balance - previous.closing_balance) or None
    stored = BankStatement.objects.create(
        bank_account=bank_account,
        statement_key=key,
        format=file_format,
        file_name=file_name[:200],
        file_sha256=sha,
        statement_id=statement.statement_id[:120],
        from_date=statement.from_date,
        to_date=statement.to_date,
        currency=statement.currency,
        opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance,
        lines_in_file=len(statement.lines),
        continuity_difference=difference,
        imported_by=by,
    )
    keys = _line_keys(statement)
    known = set(
        StatementLine.objects.filter(bank_account=bank_account, dedupe_key__in=keys).values_list(
            "dedupe_key", flat=True
        )
    )
    new_lines = [
        StatementLine(
            statement=stored,
            bank_account=bank_account,
            dedupe_key=key,
            position=position,
            bank_reference=line.bank_reference,
            booking_date=line.booking_date,
            value_date=line.value_date,
            amount=line.amount,
            currency=line.currency,
            counterparty_name=line.counterparty_name,
            counterparty_iban=line.counterparty_iban,
            counterparty_id=line.counterparty_id,
            remittance=line.remittance,
            structured_reference=line.structured_reference,
            end_to_end_id=line.end_to_end_id,
            transaction_code=line.transaction_code,
            is_return=line.is_return,
            status=StatementLine.Status.IGNORED if line.amount == 0 else StatementLine.Status.UNMATCHED,
            explanation="Zero amount." if line.amount == 0 else "",
        )
        for position, (line, key) in enumerate(zip(statement.lines, keys, strict=False), start=1)
        if key not in known
    ]
    try:
        with transaction.atomic():
            _insert_many(StatementLine, new_lines)
    except IntegrityError:
        raise StatementFileError(statement.where, "another import of the same lines is running; try again") from None
    stored.new_line_ids = list(
        StatementLine.objects.filter(statement=stored).order_by("position").values_list("pk", flat=True)
    )
    stored.lines_added = len(stored.new_line_ids)
    stored.save(update_fields=["lines_added"])
    return stored


# Matching and applying ---------------------------------------------------------------------------
@dataclasses.dataclass
class MatchSummary:
    lines: int = 0
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0
    ignored: int = 0
    customer_ids: set = dataclasses.field(default_factory=set)
    invoice_ids: set = dataclasses.field(default_factory=set)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("lines", "matched", "suggested", "unmatched", "ignored")}


def match_and_apply(*, line_ids: list[int], by=None) -> MatchSummary:
    """Match open lines and apply every candidate at or above the auto-apply threshold; the
    others become suggestions (with their best candidates and why) or stay unmatched."""
    settings = CashApplicationSettings.current()
    summary = MatchSummary()
    with transaction.atomic():
        lines = list(
            StatementLine.objects.select_for_update()
            .filter(pk__in=line_ids, status__in=[StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED])
            .order_by("pk")
        )
        outcomes = match_lines(lines, settings)
        automatic, others = [], []
        for outcome in outcomes:
            best = outcome.best
            if best and best.confidence >= settings.auto_apply_threshold and (best.parts or best.action != "apply"):
                automatic.append((outcome.line, best))
            else:
                others.append(outcome)
        _settle(automatic, by=by, summary=summary, automatic=True)
        changed = []
        for outcome in others:
            line = outcome.line
            best = outcome.best
            if best and best.confidence >= settings.suggest_threshold:
                line.status = StatementLine.Status.SUGGESTED
            else:
                line.status = StatementLine.Status.UNMATCHED
            line.confidence = best.confidence if best else None
            line.explanation = best.why if best else "No reference, payer or amount matched."
            line.candidates = [candidate.as_dict() for candidate in outcome.candidates]
            line.customer_id = best.customer_id if best else None
            changed.append(line)
        _update_rows(StatementLine, changed, ["status", "confidence", "explanation", "candidates", "customer"])
    summary.lines = len(line_ids)
    counts = defaultdict(int)
    for status in StatementLine.objects.filter(pk__in=line_ids).values_list("status", flat=True):
        counts[status] += 1
    summary.matched = counts[StatementLine.Status.MATCHED]
    summary.suggested = counts[StatementLine.Status.SUGGESTED]
    summary.unmatched = counts[StatementLine.Status.UNMATCHED]
    summary.ignored = counts[StatementLine.Status.IGNORED]
    return summary


def accept_candidate(*, line: StatementLine, index: int = 0, by=None) -> MatchSummary:
    """A clerk accepts one of the line's stored candidates (one click)."""
    line.refresh_from_db()
    if line.status not in (StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED):
        raise ReceivablesError(f"Statement line #{line.pk} is already {line.get_status_display().lower()}.")
    try:
        stored = line.candidates[index]
    except IndexError:
        raise ReceivablesError("That suggestion is no longer there; reload the page.") from None
    return apply_line(
        line=line,
        customer_id=stored.get("customer_id"),
        parts=[
            (
                int(part["invoice_id"]),
                Decimal(part["cash"]),
                Decimal(part["discount"]),
                Decimal(part["write_off"]),
                part["write_off_reason"],
            )
            for part in stored["parts"]
        ],
        action=stored["action"],
        reverse_payment_id=stored.get("reverse_payment_id"),
        why=f"Accepted by a clerk: {stored['why']}",
        by=by,
    )


def apply_line(
    *,
    line: StatementLine,
    customer_id: int | None,
    parts: list[tuple[int, Decimal, Decimal, Decimal, str]],
    by=None,
    action: str = "apply",
    reverse_payment_id: int | None = None,
    why: str = "",
) -> MatchSummary:
    """A clerk's decision on one line: apply it to these invoices (cash, discount, write-off,
    reason per invoice; the rest stays on the customer's account), put it all on account,
    ignore it, or reverse the payment it returns. Teaches the payer's IBAN and name."""
    summary = MatchSummary()
    with transaction.atomic():
        invoices = {
            invoice.pk: invoice
            for invoice in Invoice.objects.filter(pk__in=[part[0] for part in parts]).select_related(
                "customer__payment_terms"
            )
        }
        if action in ("apply", "on_account") and not customer_id:
            if not invoices:
                raise ReceivablesError("Choose the customer whose account the payment goes to.")
            customer_id = next(iter(invoices.values())).customer_id
        built = []
        for invoice_id, cash, discount, write_off, reason in parts:
            invoice = invoices.get(invoice_id)
            if invoice is None:
                raise ReceivablesError(f"Invoice #{invoice_id} does not exist.")
            if cash < 0 or discount < 0 or write_off < 0 or cash + discount + write_off <= 0:
                raise ReceivablesError(
                    f"{invoice.number}: amounts must not be negative and must settle something.",
                    [(invoice.number, "amount", "must be above zero")],
                )
            if write_off and not reason:
                reason = Allocation.WriteOffReason.SMALL_DIFFERENCE
            item = OpenItem(
                invoice.pk,
                invoice.number,
                invoice.customer_id,
                invoice.amount_open,
                invoice.currency,
                invoice.issue_date,
                invoice.due_date,
                ZERO,
                0,
            )
            built.append(Part(item, cash, discount, write_off, reason))
        candidate = Candidate(
            action, Decimal("1"), why or "Matched by a clerk.", customer_id, built, reverse_payment_id
        )
        _settle([(line, candidate)], by=by, summary=summary, automatic=False)
    return summary


def _settle(decisions: list[tuple[StatementLine, Candidate]], *, by, summary: MatchSummary, automatic: bool) -> None:
    """Carry out decisions on locked lines. Automatic decisions that no longer fit (an invoice
    settled meanwhile) become suggestions; a clerk's decision that no longer fits is refused."""
    if not decisions:
        return
    lines = {
        line.pk: line
        for line in StatementLine.objects.select_for_update()
        .filter(pk__in=[line.pk for line, _ in decisions])
        .order_by("pk")
    }
    now = timezone.now()
    to_apply, done = [], []
    for line, candidate in decisions:
        current = lines.get(line.pk)
        if current is None or current.status in (StatementLine.Status.MATCHED, StatementLine.Status.IGNORED):
            if automatic:
                continue
            raise ReceivablesError(f"Statement line #{line.pk} was already handled by someone else.")
        current.confidence = candidate.confidence
        current.explanation = candidate.why
        current.matched_at = now
        current.matched_by = by if by is not None and getattr(by, "is_authenticated", False) else None
        if candidate.action == "ignore":
            current.status = StatementLine.Status.IGNORED
            done.append(current)
        elif candidate.action == "reverse":
            payment = reverse_payment(
                payment=Payment.objects.get(pk=candidate.reverse_payment_id),
                reason=f"Returned on the bank statement ({current.value_date}): {current.remittance[:100]}",
                by=by,
                on=current.value_date,
            )
            current.status = StatementLine.Status.MATCHED
            current.payment = payment
            current.customer_id = payment.customer_id
            summary.customer_ids.add(payment.customer_id)
            done.append(current)
        else:
            if current.amount <= 0:
                raise ReceivablesError(f"Statement line #{line.pk} is money going out; it cannot pay invoices.")
            to_apply.append((current, candidate))
    refused = _apply_payments(to_apply, by=by, summary=summary, automatic=automatic)
    for line, reason in refused:
        line.status = StatementLine.Status.SUGGESTED
        line.explanation = f"{line.explanation} Not applied automatically: {reason}"
        line.matched_at = None
        line.matched_by = None
        done.append(line)
    refused_ids = {line.pk for line, _ in refused}
    _update_rows(
        StatementLine,
        done + [line for line, _ in to_apply if line.pk not in refused_ids],
        ["status", "confidence", "explanation", "matched_at", "matched_by", "payment", "customer", "candidates"],
    )


def _apply_payments(items, *, by, summary: MatchSummary, automatic: bool):
    """Record one payment per line and allocate it as decided, in bulk. Returns the lines that
    could not be applied (automatic only) with the reason."""
    if not items:
        return []
    invoice_ids = sorted({part.item.id for _, candidate in items for part in candidate.parts})
    locked = {
        row[0]: {"open": row[1], "status": row[2], "customer_id": row[3], "currency": row[4], "number": row[5]}
        for row in Invoice.objects.select_for_update()
        .filter(pk__in=invoice_ids)
        .order_by("pk")
        .values_list("pk", "amount_open", "status", "customer_id", "currency", "number")
    }
    refused, accepted = [], []
    for line, candidate in items:
        problem = None
        settled = defaultdict(lambda: ZERO)
        for part in candidate.parts:
            settled[part.item.id] += part.cash + part.discount + part.write_off
        cash = sum((part.cash for part in candidate.parts), ZERO)
        if cash > line.amount:
            problem = f"the allocations ({cash}) exceed the payment ({line.amount})"
        for invoice_id, amount in settled.items():
            invoice = locked[invoice_id]
            if invoice["status"] != Invoice.Status.ISSUED or amount > invoice["open"]:
                problem = f"{invoice['number']} has {invoice['open']} open, {amount} cannot be settled"
            elif invoice["customer_id"] != candidate.customer_id:
                problem = f"{invoice['number']} belongs to another customer"
            elif invoice["currency"] != line.currency:
                problem = f"{invoice['number']} is in {invoice['currency']}, the payment in {line.currency}"
        if problem:
            if not automatic:
                raise ReceivablesError(f"Nothing applied: {problem}.")
            refused.append((line, problem))
            continue
        for invoice_id, amount in settled.items():
            locked[invoice_id]["open"] -= amount
            if locked[invoice_id]["open"] == 0:
                locked[invoice_id]["status"] = Invoice.Status.PAID
        accepted.append((line, candidate, cash))
    if not accepted:
        return refused
    customers = {
        customer.pk: customer
        for customer in Customer.objects.filter(pk__in={candidate.customer_id for _, candidate, _ in accepted})
    }
    payments = []
    for line, candidate, cash in accepted:
        method = {"CHK": Payment.Method.CHECK, "CARD": Payment.Method.CARD, "CASH": Payment.Method.CASH}.get(
            line.transaction_code,
            Payment.Method.DIRECT_DEBIT
            if "DD" in line.transaction_code.upper().split("/")
            else Payment.Method.TRANSFER,
        )
        payments.append(
            Payment(
                customer=customers[candidate.customer_id],
                amount=line.amount,
                amount_applied=cash,
                currency=line.currency,
                value_date=line.value_date,
                method=method,
                reference=(line.structured_reference or line.remittance)[:140],
                status=(
                    Payment.Status.APPLIED
                    if cash == line.amount
                    else Payment.Status.PARTIALLY_APPLIED
                    if cash
                    else Payment.Status.UNAPPLIED
                ),
                idempotency_key=f"statement-line:{line.pk}",
                payer_iban=line.counterparty_iban,
                payer_name=line.counterparty_name[:140],
                end_to_end_id=line.end_to_end_id,
                received_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
            )
        )
    try:
        with transaction.atomic():
            payments = Payment.objects.bulk_create(payments, batch_size=2000)
    except IntegrityError:
        raise ReceivablesError(
            "One of these lines was applied by someone else meanwhile; nothing was applied."
        ) from None
    allocations = []
    entries = []
    for payment, (line, candidate, _) in zip(payments, accepted, strict=False):
        line.payment = payment
        line.customer_id = payment.customer_id
        line.status = StatementLine.Status.MATCHED
        line.candidates = [candidate.as_dict()]
        summary.customer_ids.add(payment.customer_id)
        entries.append(
            _entry(
                JournalEntry.Kind.PAYMENT,
                payment,
                None,
                f"Payment #{payment.pk} received" + (f" ({payment.reference[:60]})" if payment.reference else ""),
                [(Account.BANK, payment.amount, ZERO), (Account.UNAPPLIED_CASH, ZERO, payment.amount)],
                by,
            )
        )
        for part in candidate.parts:
            allocations.append(
                Allocation(
                    payment=payment,
                    invoice_id=part.item.id,
                    amount=part.cash,
                    discount_amount=part.discount,
                    write_off_amount=part.write_off,
                    write_off_reason=part.write_off_reason,
                    created_by=payment.received_by,
                )
            )
            summary.invoice_ids.add(part.item.id)
            entries.append(_allocation_entry(payment, part, by))
    _allocations_with_cash_only(allocations)
    _insert_many(Allocation, allocations)
    _post_many(entries)
    _update_rows(
        Invoice,
        [Invoice(pk=pk, amount_open=row["open"], status=row["status"]) for pk, row in locked.items()],
        ["amount_open", "status"],
    )
    _learn_payers([(line, payment.customer_id) for payment, (line, _, _) in zip(payments, accepted, strict=False)])
    content_type = ContentType.objects.get_for_model(Payment)
    _insert_many(
        TimelineEvent,
        [
            TimelineEvent(
                content_type=content_type,
                object_id=payment.pk,
                trail=f"customer:{payment.customer_id}",
                verb="applied",
                summary=(f"Payment of {payment.amount} {payment.currency} from the bank statement: {candidate.why}")[
                    :300
                ],
                actor=payment.received_by,
            )
            for payment, (_, candidate, _) in zip(payments, accepted, strict=False)
        ],
    )
    return refused


def _update_rows(model, rows: list, fields: list[str]) -> None:
    """bulk_update without its CASE per field and row (quadratic at 10,000 rows): on PostgreSQL
    one UPDATE ... FROM (VALUES ...) per 5,000 rows; elsewhere Django's bulk_update."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields, batch_size=500)
        return
    table = model._meta.db_table
    columns = [model._meta.get_field(name) for name in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            placeholders, params = [], []
            for row in chunk:
                placeholders.append("(" + ", ".join(["%s"] * (len(columns) + 1)) + ")")
                params.append(row.pk)
                for column in columns:
                    value = getattr(row, column.attname)
                    params.append(column.get_db_prep_save(value, connection))
            casts = ", ".join(
                f"{column.column} = v.c{n}::{column.db_type(connection)}" for n, column in enumerate(columns)
            )
            names = ", ".join(["id"] + [f"c{n}" for n in range(len(columns))])
            cursor.execute(
                f"UPDATE {table} t SET {casts} FROM (VALUES {', '.join(placeholders)}) AS v({names}) WHERE t.id = v.id",
                params,
            )


def _insert_many(model, objects: list) -> None:
    """Insert rows whose ids nobody needs back: COPY on PostgreSQL (no model instance per row
    turned into SQL by the ORM), bulk_create elsewhere. Triggers and constraints still apply."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=2000)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            copy.write_row([field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields])


def _allocations_with_cash_only(allocations: list[Allocation]) -> None:
    """An allocation carries cash; a part that only writes off (no cash) cannot stand alone."""
    for allocation in allocations:
        if allocation.amount <= 0:
            raise ReceivablesError(
                f"Invoice #{allocation.invoice_id}: a discount or write-off needs some cash applied with it."
            )


def _entry(kind, payment, invoice_id, description, lines, by) -> tuple:
    return (
        JournalEntry(
            kind=kind,
            customer_id=payment.customer_id,
            currency=payment.currency,
            effective_date=payment.value_date,
            description=description[:200],
            invoice_id=invoice_id,
            payment=payment,
            posted_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
        ),
        lines,
    )


def _allocation_entry(payment, part: Part, by) -> tuple:
    settled = part.cash + part.discount + part.write_off
    write_off_account = Account.BANK_CHARGES if part.write_off_reason == "bank_charges" else Account.WRITE_OFFS
    extras = []
    if part.discount:
        extras.append(f"discount {part.discount}")
    if part.write_off:
        extras.append(f"written off {part.write_off}")
    return _entry(
        JournalEntry.Kind.ALLOCATION,
        payment,
        part.item.id,
        f"Payment #{payment.pk} applied to {part.item.number}" + (f" ({', '.join(extras)})" if extras else ""),
        [
            (Account.UNAPPLIED_CASH, part.cash, ZERO),
            (Account.SALES_DISCOUNTS, part.discount, ZERO),
            (write_off_account, part.write_off, ZERO),
            (Account.RECEIVABLES, ZERO, settled),
        ],
        by,
    )


def _post_many(entries: list[tuple[JournalEntry, list]]) -> None:
    for entry, lines in entries:
        debits = sum((debit for _, debit, _ in lines), ZERO)
        credits = sum((credit for _, _, credit in lines), ZERO)
        if debits != credits:
            raise ReceivablesError(f"Unbalanced posting for {entry.description}: {debits} != {credits}.")
    created = JournalEntry.objects.bulk_create([entry for entry, _ in entries], batch_size=2000)
    _insert_many(
        JournalLine,
        [
            JournalLine(entry=entry, account=account, customer_id=entry.customer_id, debit=debit, credit=credit)
            for entry, (_, lines) in zip(created, entries, strict=False)
            for account, debit, credit in lines
            if debit or credit
        ],
    )


def _learn_payers(pairs: list[tuple[StatementLine, int]]) -> None:
    """Every confirmed match teaches who pays with this IBAN and name (first teacher wins)."""
    identities = []
    for line, customer_id in pairs:
        if line.counterparty_iban:
            identities.append(
                PayerIdentity(
                    kind=PayerIdentity.Kind.IBAN,
                    value=line.counterparty_iban,
                    customer_id=customer_id,
                    learned_from=f"statement line #{line.pk}",
                )
            )
        name = _name_key(line.counterparty_name)
        if name:
            identities.append(
                PayerIdentity(
                    kind=PayerIdentity.Kind.NAME,
                    value=name,
                    customer_id=customer_id,
                    learned_from=f"statement line #{line.pk}",
                )
            )
    PayerIdentity.objects.bulk_create(identities, ignore_conflicts=True, batch_size=2000)


# Payments entered by hand, applied, and reversed --------------------------------------------------
def apply_payment(
    *, payment: Payment, parts: list[tuple[Invoice, Decimal, Decimal, Decimal, str]], by=None
) -> list[Allocation]:
    """Apply (more of) a recorded payment to invoices, with discount and write-off parts.
    The payment and the invoices are locked first, so two clerks applying the same payment,
    or two payments racing for one invoice, can never apply more than there is."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == Payment.Status.REVERSED:
            raise ReceivablesError(f"Payment #{payment.pk} was reversed; it cannot be applied.")
        invoices = {
            row.pk: row
            for row in Invoice.objects.select_for_update().filter(pk__in=sorted(p[0].pk for p in parts)).order_by("pk")
        }
        cash = sum((part[1] for part in parts), ZERO)
        if cash > payment.amount_unapplied:
            raise ReceivablesError(
                f"Payment #{payment.pk} has only {payment.amount_unapplied} {payment.currency} left to apply; "
                f"{cash} was asked.",
                [("allocation", "amount", f"at most {payment.amount_unapplied}")],
            )
        allocations, entries = [], []
        for invoice_ref, amount, discount, write_off, reason in parts:
            invoice = invoices[invoice_ref.pk]
            settled = amount + discount + write_off
            where = invoice.number
            if invoice.customer_id != payment.customer_id:
                raise ReceivablesError(f"{where} belongs to another customer than payment #{payment.pk}.")
            if invoice.currency != payment.currency:
                raise ReceivablesError(f"{where} is in {invoice.currency}, the payment in {payment.currency}.")
            if invoice.status != Invoice.Status.ISSUED or settled > invoice.amount_open or amount <= 0:
                raise ReceivablesError(
                    f"{where} has {invoice.amount_open} {invoice.currency} open; {settled} cannot be settled.",
                    [(where, "amount", f"between 0.01 and {invoice.amount_open}")],
                )
            invoice.amount_open -= settled
            invoice.status = Invoice.Status.PAID if invoice.amount_open == 0 else Invoice.Status.ISSUED
            if write_off and not reason:
                reason = Allocation.WriteOffReason.SMALL_DIFFERENCE
            item = OpenItem(
                invoice.pk,
                invoice.number,
                invoice.customer_id,
                ZERO,
                invoice.currency,
                invoice.issue_date,
                invoice.due_date,
                ZERO,
                0,
            )
            part = Part(item, amount, discount, write_off, reason)
            allocations.append(
                Allocation(
                    payment=payment,
                    invoice=invoice,
                    amount=amount,
                    discount_amount=discount,
                    write_off_amount=write_off,
                    write_off_reason=reason,
                    created_by=by,
                )
            )
            entries.append(_allocation_entry(payment, part, by))
        Invoice.objects.bulk_update(list(invoices.values()), ["amount_open", "status"])
        created = Allocation.objects.bulk_create(allocations)
        _post_many(entries)
        payment.amount_applied += cash
        payment.status = (
            Payment.Status.APPLIED
            if payment.amount_applied == payment.amount
            else (Payment.Status.PARTIALLY_APPLIED if payment.amount_applied else Payment.Status.UNAPPLIED)
        )
        payment.save(update_fields=["amount_applied", "status"])
    return created


def reverse_payment(*, payment: Payment, reason: str, by=None, on: datetime.date | None = None) -> Payment:
    """A returned direct debit or bounced check: every allocation of the payment is undone (the
    invoices reopen, discount and write-off reversed) and the cash leaves the account again, each
    with its own reversing ledger entry. Refused when the payment is already reversed."""
    on = on or timezone.localdate()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == Payment.Status.REVERSED:
            raise ReceivablesError(f"Payment #{payment.pk} is already reversed.")
        allocations = list(payment.allocations.filter(reversed_at__isnull=True).select_related("invoice"))
        invoices = {
            row.pk: row
            for row in Invoice.objects.select_for_update()
            .filter(pk__in=sorted({a.invoice_id for a in allocations}))
            .order_by("pk")
        }
        entries = []
        for allocation in allocations:
            invoice = invoices[allocation.invoice_id]
            invoice.amount_open += allocation.settled
            invoice.status = Invoice.Status.ISSUED
            write_off_account = (
                Account.BANK_CHARGES if allocation.write_off_reason == "bank_charges" else Account.WRITE_OFFS
            )
            entries.append(
                (
                    JournalEntry(
                        kind=JournalEntry.Kind.REVERSAL,
                        customer_id=payment.customer_id,
                        currency=payment.currency,
                        effective_date=on,
                        description=f"Payment #{payment.pk} returned: {invoice.number} open again",
                        invoice=invoice,
                        payment=payment,
                        posted_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
                    ),
                    [
                        (Account.RECEIVABLES, allocation.settled, ZERO),
                        (Account.UNAPPLIED_CASH, ZERO, allocation.amount),
                        (Account.SALES_DISCOUNTS, ZERO, allocation.discount_amount),
                        (write_off_account, ZERO, allocation.write_off_amount),
                    ],
                )
            )
        entries.append(
            (
                JournalEntry(
                    kind=JournalEntry.Kind.REVERSAL,
                    customer_id=payment.customer_id,
                    currency=payment.currency,
                    effective_date=on,
                    description=f"Payment #{payment.pk} returned by the bank: {reason}"[:200],
                    payment=payment,
                    posted_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
                ),
                [(Account.UNAPPLIED_CASH, payment.amount, ZERO), (Account.BANK, ZERO, payment.amount)],
            )
        )
        Invoice.objects.bulk_update(list(invoices.values()), ["amount_open", "status"])
        Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(reversed_at=timezone.now())
        _post_many(entries)
        payment.status = Payment.Status.REVERSED
        payment.reversed_at = timezone.now()
        payment.reversal_reason = reason[:200]
        payment.save(update_fields=["status", "reversed_at", "reversal_reason"])
        TimelineEvent.objects.create(
            content_type=ContentType.objects.get_for_model(Payment),
            object_id=payment.pk,
            trail=f"customer:{payment.customer_id}",
            verb="reversed",
            summary=f"Payment #{payment.pk} of {payment.amount} {payment.currency} reversed: {reason}"[:300],
            actor=by if by is not None and getattr(by, "is_authenticated", False) else None,
        )
    return payment


# Go-live ------------------------------------------------------------------------------------------
def post_opening_item(*, invoice: Invoice, by=None) -> JournalEntry | None:
    """An open item taken over at go-live: Dr receivables / Cr opening balances, for its open
    amount. Posted once (a second call finds the entry and does nothing)."""
    if JournalEntry.objects.filter(kind=JournalEntry.Kind.OPENING, invoice=invoice).exists():
        return None
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.OPENING,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        effective_date=invoice.issue_date,
        description=f"Open item {invoice.number} taken over at go-live",
        invoice=invoice,
        posted_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=entry, account=Account.RECEIVABLES, customer_id=invoice.customer_id, debit=invoice.amount_open
            ),
            JournalLine(
                entry=entry,
                account=Account.OPENING_BALANCES,
                customer_id=invoice.customer_id,
                credit=invoice.amount_open,
            ),
        ]
    )
    return entry


def learn_payer_iban(*, customer: Customer, iban: str, source: str) -> bool:
    """Remember that this IBAN pays for this customer (go-live import, a clerk's match)."""
    iban = compact_iban(iban)
    if not iban:
        return False
    _, created = PayerIdentity.objects.get_or_create(
        kind=PayerIdentity.Kind.IBAN, value=iban, defaults={"customer": customer, "learned_from": source[:200]}
    )
    return created


def record_reconciliation(*, lines_rematched: int, problems: list[str]):
    """Keep what the nightly reconciliation found, for the AR page."""
    from .models import ReconciliationRun

    return ReconciliationRun.objects.create(lines_rematched=lines_rematched, problems=problems[:500])
