"""The nightly integrity check (RELIABILITY.md), one function for the command and the task.

- AR ledger equals open items and unapplied cash, per customer (receivables.selectors);
- every journal entry balances (the database checks it at commit; a bulk load bypasses that);
- stock balances equal the sums of their movements (fulfillment.selectors);
- every issued invoice, credit note and charge has its ledger entry;
- document numbers of each series and year run 1..N with no gap and no duplicate, and the
  series counter stands at N (invoices and credit notes, orders, shipments).

Read only; set-based SQL so it runs in seconds at 1,000,000 invoices."""

import dataclasses
import time

from django.db import connection

from fulfillment.selectors import stock_balances_match_ledger
from receivables.selectors import ledger_integrity_problems

NUMBER_PATTERN = r"^[A-Z]+-[0-9]{4}-[0-9]+$"
NUMBERED = [  # (what, table); only numbers of the PREFIX-YYYY-NNNNNN form of o2c.core.numbering
    ("invoice", "invoicing_invoice"),
    ("order", "orders_salesorder"),
    ("shipment", "fulfillment_shipment"),
]


@dataclasses.dataclass
class Report:
    problems: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for name, problems in self.problems.items():
            state = "OK" if not problems else f"{len(problems)} problem(s)"
            out.append(f"{name:<36} {state:<18} {self.seconds[name]:.2f} s")
            out.extend(f"    {problem}" for problem in problems[:50])
            if len(problems) > 50:
                out.append(f"    ... and {len(problems) - 50} more")
        return out

    @property
    def all_problems(self) -> list[str]:
        return [f"{name}: {problem}" for name, problems in self.problems.items() for problem in problems]


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def unbalanced_entries() -> list[str]:
    rows = _rows(
        "SELECT entry_id, SUM(debit - credit) FROM receivables_journalline GROUP BY entry_id "
        "HAVING SUM(debit - credit) <> 0 ORDER BY entry_id LIMIT 1000"
    )
    rows += [
        (entry_id, "no lines")
        for (entry_id,) in _rows(
            "SELECT e.id FROM receivables_journalentry e WHERE NOT EXISTS "
            "(SELECT 1 FROM receivables_journalline l WHERE l.entry_id = e.id) ORDER BY e.id LIMIT 1000"
        )
    ]
    return [
        f"journal entry {entry_id} does not balance (debits - credits = {difference})" for entry_id, difference in rows
    ]


def issued_without_entry() -> list[str]:
    """Issued documents with no posting of their own (invoice, credit note, charge, or the
    opening entry of an item taken over at go-live)."""
    rows = _rows(
        "SELECT i.id, i.number, i.kind FROM invoicing_invoice i WHERE i.status <> 'draft' AND NOT EXISTS "
        "(SELECT 1 FROM receivables_journalentry e WHERE e.invoice_id = i.id "
        " AND e.kind IN ('invoice', 'credit_note', 'charge', 'opening')) ORDER BY i.id LIMIT 1000"
    )
    return [
        f"{kind.replace('_', ' ')} {number} (id {pk}) is issued but has no ledger entry" for pk, number, kind in rows
    ]


def number_gaps() -> list[str]:
    """Per numbered table, series (prefix) and year: numbers 1..N each once, and the counter at N.
    Invoices taken over at go-live keep their old system's numbers and are left out."""
    problems = []
    counters = {
        (prefix, year): last for prefix, year, last in _rows("SELECT prefix, year, last_number FROM core_numberseries")
    }
    for what, table in NUMBERED:
        exclude = ""
        if table == "invoicing_invoice":
            exclude = (
                " AND NOT EXISTS (SELECT 1 FROM receivables_journalentry e"
                " WHERE e.invoice_id = t.id AND e.kind = 'opening')"
            )
        rows = _rows(
            "SELECT prefix, year, COUNT(*), COUNT(DISTINCT n), MIN(n), MAX(n) FROM ("
            " SELECT split_part(number, '-', 1) AS prefix, split_part(number, '-', 2)::int AS year,"
            f" split_part(number, '-', 3)::bigint AS n FROM {table} t"
            f" WHERE number ~ %s{exclude}) s GROUP BY prefix, year ORDER BY prefix, year",
            [NUMBER_PATTERN],
        )
        for prefix, year, count, distinct, low, high in rows:
            series = f"{what} series {prefix}-{year}"
            if distinct != count:
                problems.append(f"{series}: {count - distinct} duplicate number(s)")
            if low != 1 or high != distinct:
                missing = high - distinct
                problems.append(f"{series}: numbers run {low}..{high} but {distinct} exist ({missing} missing)")
                problems.extend(_missing_numbers(table, prefix, year, high, exclude))
            counter = counters.get((prefix, year))
            if counter is not None and counter != high:
                problems.append(f"{series}: counter stands at {counter}, last number issued is {high}")
    return problems


def _missing_numbers(table: str, prefix: str, year: int, high: int, exclude: str) -> list[str]:
    rows = _rows(
        "SELECT g.n FROM generate_series(1, %s) AS g(n) WHERE NOT EXISTS ("
        f" SELECT 1 FROM {table} t WHERE number ~ %s AND split_part(number, '-', 1) = %s"
        f" AND split_part(number, '-', 2)::int = %s AND split_part(number, '-', 3)::bigint = g.n{exclude})"
        " ORDER BY g.n LIMIT 20",
        [high, NUMBER_PATTERN, prefix, year],
    )
    return [f"  missing {prefix}-{year}-{n:06d}" for (n,) in rows]


CHECKS = [
    ("AR ledger equals open items", ledger_integrity_problems),
    ("journal entries balance", unbalanced_entries),
    ("stock ledger equals balances", stock_balances_match_ledger),
    ("issued documents are posted", issued_without_entry),
    ("numbers gapless per series and year", number_gaps),
]


def run_checks() -> Report:
    report = Report()
    for name, check in CHECKS:
        started = time.perf_counter()
        report.problems[name] = list(check())
        report.seconds[name] = time.perf_counter() - started
    return report
