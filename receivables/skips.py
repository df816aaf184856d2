"""Before any reminder or dunning step: which items may be chased on a day, and for how much.

One set-based screen for a whole batch of candidate invoices (100,000 items take the same
handful of queries as one): the exceptions (open disputes, open promises, unapplied cash,
unmatched bank lines, dunning blocks) are small tables, each read once for the batch's
customers, and every item is then decided in memory. Each item left out gets one
CollectionSkip row with the first reason that applies, in this order:

1. blocked        the customer has a DunningBlock with no end date, or one ending on or after the day;
2. disputed       open (not resolved) disputes on the invoice cover its whole open amount;
                  a partly disputed item is chased for its open amount minus the disputed amount;
3. promised       an open promise to pay covers the invoice (it names the invoice, or names no
                  invoice at all: the whole account), and its date plus the grace days
                  (CollectionsSettings.promise_grace_days) has not passed: a promise not yet broken;
4. likely_paid    the customer's unapplied cash in the item's currency is at least the amount to
                  chase, or an unmatched or suggested bank statement line of exactly that amount
                  and currency came from that customer (the line names it, or its IBAN is one
                  learned for it);
5. below_minimum  the amount to chase is under CollectionsSettings.minimum_amount.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, Sum

from .dispute_selectors import disputed_amounts
from .models import (
    CollectionSkip,
    CollectionsSettings,
    DunningBlock,
    DunningRun,
    PayerIdentity,
    Payment,
    PromiseToPay,
    StatementLine,
)

ZERO = Decimal("0")
# Above this many ids the exception tables are read whole (they hold only what is open: a few
# disputes, promises, blocks, unapplied payments) instead of through a huge IN list.
SCOPE_LIMIT = 5000


def _scoped(queryset, field: str, ids: list):
    return queryset.filter(**{f"{field}__in": ids}) if len(ids) <= SCOPE_LIMIT else queryset


@dataclass
class Screen:
    """What the screen decided: `chase` are the candidate rows (dicts) that may be chased, each
    with `amount` (open minus disputed) and `disputed` added; `skips` the CollectionSkip rows made."""

    chase: list[dict]
    skips: list[CollectionSkip]


def screen(
    rows: list[dict],
    *,
    on: datetime.date,
    step: str,
    run: DunningRun | None = None,
    settings: CollectionsSettings | None = None,
    record: bool = True,
) -> Screen:
    """Decide for candidate rows (dicts with at least id, customer_id, currency, amount_open)
    which may be chased on `on`, and record a CollectionSkip for each one that may not. A
    second screen of the same step, day and invoice records nothing twice."""
    settings = settings or CollectionsSettings.current()
    if not rows:
        return Screen(chase=[], skips=[])
    invoice_ids = [row["id"] for row in rows]
    customer_ids = list({row["customer_id"] for row in rows})
    facts = _Facts.load(invoice_ids=invoice_ids, customer_ids=customer_ids, on=on, settings=settings)
    chase, skipped = [], []
    for row in rows:
        disputed = facts.disputed.get(row["id"], ZERO)
        amount = max(row["amount_open"] - disputed, ZERO)
        row["disputed"], row["amount"] = disputed, amount
        reason = facts.reason(row, amount, disputed, settings)
        if reason is None:
            chase.append(row)
        else:
            skipped.append((row["id"], *reason))
    skips = _record(skipped, on=on, step=step, run=run) if record else []
    return Screen(chase=chase, skips=skips)


@dataclass
class _Facts:
    blocked: dict[int, str]
    disputed: dict[int, Decimal]
    promised_invoices: dict[int, str]
    promised_accounts: dict[int, str]
    unapplied: dict[tuple[int, str], Decimal]
    bank_lines: set[tuple[int, str, Decimal]]

    @classmethod
    def load(cls, *, invoice_ids, customer_ids, on, settings) -> "_Facts":
        blocked = {
            customer_id: reason
            for customer_id, reason in _scoped(DunningBlock.objects, "customer_id", customer_ids)
            .filter(Q(until__isnull=True) | Q(until__gte=on))
            .values_list("customer_id", "reason")
        }
        disputed = disputed_amounts(invoice_ids if len(invoice_ids) <= SCOPE_LIMIT else None)
        not_broken = Q(status=PromiseToPay.Status.OPEN) & Q(
            promised_date__gte=on - datetime.timedelta(days=settings.promise_grace_days)
        )
        through = PromiseToPay.invoices.through
        promised_invoices = {
            invoice_id: f"Promise to pay by {promised:%Y-%m-%d}"
            for invoice_id, promised in _scoped(through.objects, "invoice_id", invoice_ids)
            .filter(
                promisetopay__status=PromiseToPay.Status.OPEN,
                promisetopay__promised_date__gte=on - datetime.timedelta(days=settings.promise_grace_days),
            )
            .values_list("invoice_id", "promisetopay__promised_date")
        }
        promised_accounts = {
            customer_id: f"Promise to pay the account by {promised:%Y-%m-%d}"
            for customer_id, promised in _scoped(PromiseToPay.objects.filter(not_broken), "customer_id", customer_ids)
            .filter(invoices__isnull=True)
            .values_list("customer_id", "promised_date")
        }
        unapplied = {
            (customer_id, currency): total
            for customer_id, currency, total in _scoped(Payment.objects, "customer_id", customer_ids)
            .filter(status__in=[Payment.Status.UNAPPLIED, Payment.Status.PARTIALLY_APPLIED])
            .values("customer_id", "currency")
            .annotate(total=Sum(F("amount") - F("amount_applied")))
            .values_list("customer_id", "currency", "total")
            .order_by()
        }
        open_lines = StatementLine.objects.filter(
            status__in=[StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED], amount__gt=0
        )
        bank_lines = set(
            _scoped(open_lines.filter(customer__isnull=False), "customer_id", customer_ids).values_list(
                "customer_id", "currency", "amount"
            )
        )
        ibans = defaultdict(set)
        lines_by_iban = list(
            open_lines.exclude(counterparty_iban="").values_list("counterparty_iban", "currency", "amount")
        )
        if lines_by_iban:
            identities = _scoped(PayerIdentity.objects, "customer_id", customer_ids).filter(
                kind=PayerIdentity.Kind.IBAN, value__in={iban.replace(" ", "").upper() for iban, _, _ in lines_by_iban}
            )
            for value, customer_id in identities.values_list("value", "customer_id"):
                ibans[value].add(customer_id)
            for iban, currency, amount in lines_by_iban:
                for customer_id in ibans.get(iban.replace(" ", "").upper(), ()):
                    bank_lines.add((customer_id, currency, amount))
        return cls(blocked, disputed, promised_invoices, promised_accounts, unapplied, bank_lines)

    def reason(self, row: dict, amount: Decimal, disputed: Decimal, settings) -> tuple[str, str] | None:
        customer_id, currency = row["customer_id"], row["currency"]
        if customer_id in self.blocked:
            return CollectionSkip.Reason.BLOCKED, self.blocked[customer_id][:200]
        if disputed and amount <= 0:
            return CollectionSkip.Reason.DISPUTED, f"{disputed} {currency} disputed: the whole open amount"
        if row["id"] in self.promised_invoices:
            return CollectionSkip.Reason.PROMISED, self.promised_invoices[row["id"]]
        if customer_id in self.promised_accounts:
            return CollectionSkip.Reason.PROMISED, self.promised_accounts[customer_id]
        unapplied = self.unapplied.get((customer_id, currency), ZERO)
        if unapplied >= amount:
            return CollectionSkip.Reason.LIKELY_PAID, f"{unapplied} {currency} unapplied cash on the account"
        if (customer_id, currency, amount) in self.bank_lines:
            return CollectionSkip.Reason.LIKELY_PAID, f"An unmatched bank line of {amount} {currency} from the customer"
        if amount < settings.minimum_amount:
            return CollectionSkip.Reason.BELOW_MINIMUM, f"{amount} {currency} is under {settings.minimum_amount}"
        return None


def _record(skipped: list[tuple], *, on, step, run) -> list[CollectionSkip]:
    if not skipped:
        return []
    seen = CollectionSkip.objects.filter(step=step, on=on, run=run)
    seen = set(
        seen.filter(invoice_id__in=[invoice_id for invoice_id, _, _ in skipped]).values_list("invoice_id", "reason")
    )
    rows = [
        CollectionSkip(invoice_id=invoice_id, run=run, step=step, reason=reason, detail=detail, on=on)
        for invoice_id, reason, detail in skipped
        if (invoice_id, reason) not in seen
    ]
    return CollectionSkip.objects.bulk_create(rows, batch_size=5000)
