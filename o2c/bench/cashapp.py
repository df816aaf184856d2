"""Cash application at scale: import + match + apply a 10,000-line camt.053 against 200,000 open
invoices of 50,000 customers (at --scale 1), on PostgreSQL. Target: under 30 s.

The data is bulk-loaded with COPY (customers, issued invoices, learned payer IBANs); the
statement is generated: most lines name their invoice (with separators, lost zeros, RF
references), some pay without a reference from a known IBAN, some pay two invoices at once.
The floor is the set-based SQL of PERFORMANCE.md: one UPDATE ... FROM of exact references."""

import datetime
import io
import random
import time
from decimal import Decimal
from xml.sax.saxutils import escape

from django.db import connection, transaction
from django.utils import timezone

from invoicing.models import BankAccount, Invoice
from invoicing.references import format_rf, rf_reference
from o2c import flow
from orders.models import Customer, PaymentTerms
from receivables.models import PayerIdentity, StatementLine

from .common import Figure, copy_rows, measured_then_rolled_back, require_postgresql

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def camt053_document(
    *, iban: str, currency: str, statement_id: str, opening: Decimal, on: datetime.date, entries: list[dict]
) -> bytes:
    """A camt.053.001.08 statement. Each entry: amount (signed), remittance, structured (RF),
    name, iban, reference (AcctSvcrRef), end_to_end, value_date."""
    total = sum((entry["amount"] for entry in entries), Decimal("0"))
    closing = opening + total
    out = io.StringIO()
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>')
    out.write(f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{on}T18:00:00</CreDtTm></GrpHdr>")
    out.write(f"<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{on}T18:00:00</CreDtTm>")
    out.write(f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>")
    for code, amount in (("OPBD", opening), ("CLBD", closing)):
        indicator = "CRDT" if amount >= 0 else "DBIT"
        out.write(
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{abs(amount)}</Amt>'
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>{on}</Dt></Dt></Bal>"
        )
    for number, entry in enumerate(entries, start=1):
        amount = entry["amount"]
        incoming = amount > 0
        indicator = "CRDT" if incoming else "DBIT"
        party, account = ("Dbtr", "DbtrAcct") if incoming else ("Cdtr", "CdtrAcct")
        value_date = entry.get("value_date", on)
        out.write(
            f'<Ntry><NtryRef>{number}</NtryRef><Amt Ccy="{currency}">{abs(amount)}</Amt>'
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{on}</Dt></BookgDt><ValDt><Dt>{value_date}</Dt></ValDt>"
            f"<AcctSvcrRef>{escape(entry['reference'])}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            "<NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{escape(entry.get('end_to_end') or 'NOTPROVIDED')}</EndToEndId></Refs>"
            f'<Amt Ccy="{currency}">{abs(amount)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        )
        out.write("<RltdPties>")
        if entry.get("name"):
            out.write(f"<{party}><Pty><Nm>{escape(entry['name'])}</Nm></Pty></{party}>")
        if entry.get("iban"):
            out.write(f"<{account}><Id><IBAN>{entry['iban']}</IBAN></Id></{account}>")
        out.write("</RltdPties>")
        if entry.get("remittance") or entry.get("structured"):
            out.write("<RmtInf>")
            if entry.get("remittance"):
                out.write(f"<Ustrd>{escape(entry['remittance'][:140])}</Ustrd>")
            if entry.get("structured"):
                out.write(
                    "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
                    f"<Ref>{escape(entry['structured'])}</Ref></CdtrRefInf></Strd>"
                )
            out.write("</RmtInf>")
        out.write("</TxDtls></NtryDtls></Ntry>")
    out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return out.getvalue().encode()


def _iban(n: int) -> str:
    """A valid Belgian IBAN per number (check digits computed, so schwifty would accept it)."""
    bban = f"{n % 1000:03d}{n:07d}"
    bban = bban + f"{int(bban) % 97 or 97:02d}"
    check = 98 - int(f"{bban}111400") % 97
    return f"BE{check:02d}{bban}"


def _copy(table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def build_data(*, customers: int, invoices: int, seed: int = 11):
    """Customers, their issued open invoices and learned payer IBANs, loaded with COPY."""
    rng = random.Random(seed)
    terms = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})[0]
    start_id = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    today = datetime.date(2026, 11, 2)
    _copy(
        "orders_customer",
        [
            "id",
            "account_number",
            "name",
            "email",
            "phone",
            "tax_id",
            "address_line",
            "postal_code",
            "city",
            "country",
            "currency",
            "language",
            "tax_treatment",
            "segment",
            "payment_terms_id",
            "is_active",
            "blocked_reason",
            "created_at",
        ],
        (
            (
                start_id + i,
                f"B{start_id + i:07d}",
                f"Bench Customer {start_id + i} NV",
                f"ap{i}@bench.example",
                "",
                "",
                "Street 1",
                "1000",
                "Brussels",
                "BE",
                "EUR",
                "en",
                "domestic",
                "",
                terms.pk,
                "t",
                "",
                "2026-01-01",
            )
            for i in range(customers)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('orders_customer', 'id'), (SELECT max(id) FROM orders_customer))"
        )
    invoice_start = (Invoice.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    rows, open_items = [], []
    issued_at = timezone.now()
    for i in range(invoices):
        customer_id = start_id + i % customers
        total = Decimal(rng.randint(5_000, 500_000)) / 100
        invoice_id = invoice_start + i
        number = f"BEN-2026-{invoice_id:06d}"
        issue = today - datetime.timedelta(days=rng.randint(0, 60))
        rows.append(
            {
                "id": invoice_id,
                "kind": "invoice",
                "number": number,
                "customer_id": customer_id,
                "status": "issued",
                "currency": "EUR",
                "bill_to": "Bench",
                "payment_terms": "30 days net",
                "issue_date": issue,
                "supply_date": issue,
                "due_date": issue + datetime.timedelta(days=30),
                "net_amount": total,
                "tax_amount": Decimal("0.00"),
                "total": total,
                "amount_open": total,
                "issued_at": issued_at,
            }
        )
        open_items.append((invoice_id, number, customer_id, total))
    # every other column (seller and buyer snapshots, ...) from its default: new columns keep loading
    copy_rows(Invoice, rows, {name: (lambda row, name=name: row[name]) for name in rows[0]} if rows else {})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('invoicing_invoice', 'id'), (SELECT max(id) FROM invoicing_invoice))"
        )
    PayerIdentity.objects.bulk_create(
        [
            PayerIdentity(kind="iban", value=_iban(start_id + i), customer_id=start_id + i, learned_from="bench")
            for i in range(customers)
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_customer; ANALYZE invoicing_invoice; ANALYZE receivables_payeridentity")
    return open_items


def statement_entries(open_items, *, lines: int, seed: int = 12, run_id: str = "") -> list[dict]:
    """Lines paying distinct open items: references with noise, RF, IBAN-only, two at once."""
    rng = random.Random(seed)
    chosen = rng.sample(open_items, min(len(open_items), lines * 2))
    entries = []
    by_customer: dict[int, list] = {}
    for item in chosen[lines:]:  # second items for combined payments come from the unused half
        by_customer.setdefault(item[2], []).append(item)
    for n in range(lines):
        kind = rng.random()
        _, number, customer_id, total = chosen[n]
        entry = {
            "amount": total,
            "reference": f"BENCH-{run_id}-{n:06d}",
            "iban": _iban(customer_id),
            "name": f"Bench Customer {customer_id} NV",
            "end_to_end": f"E2E{n:08d}",
        }
        if kind < 0.55:
            entry["remittance"] = rng.choice(["Invoice {}", "{}", "pay {} thanks", "INV {}"]).format(
                rng.choice([number, number.replace("-", " "), number.replace("-", ""), number.replace("-000", "-")])
            )
        elif kind < 0.75:
            entry["structured"] = format_rf(rf_reference(number))
        elif kind < 0.9:
            entry["remittance"] = "Thank you"
        else:
            spare = by_customer.get(customer_id) or []
            other = spare.pop() if spare else None
            if other is None:
                entry["remittance"] = number
            else:
                entry["amount"] = total + other[3]
                entry["remittance"] = f"{number}, {other[1]}"
        entries.append(entry)
    return entries


def run(*, scale: float) -> list[Figure]:
    """Everything (200,000 invoices, the statement, what it applied) is rolled back after."""
    require_postgresql()
    return measured_then_rolled_back(lambda: scale, _run)


def _run(scale: float) -> list[Figure]:
    customers = max(50, int(50_000 * scale))
    invoices = max(200, int(200_000 * scale))
    lines = max(40, int(10_000 * scale))
    started = time.perf_counter()
    with transaction.atomic():
        open_items = build_data(customers=customers, invoices=invoices)
    build_seconds = time.perf_counter() - started
    account, _ = BankAccount.objects.get_or_create(
        iban="BE71096123456769", defaults={"name": "Bench account", "currency": "EUR"}
    )
    stamp = int(time.time())
    entries = statement_entries(open_items, lines=lines, run_id=str(stamp))
    data = camt053_document(
        iban=account.iban,
        currency="EUR",
        statement_id=f"BENCH-{stamp}",
        opening=Decimal("0"),
        on=datetime.date(2026, 11, 3),
        entries=entries,
    )
    floor = _floor_exact_references(open_items, entries)
    started = time.perf_counter()
    result, summary = flow.import_statement(bank_account=account, data=data, file_name="bench.xml")
    seconds = time.perf_counter() - started
    line_ids = result.new_line_ids
    matched = StatementLine.objects.filter(pk__in=line_ids, status=StatementLine.Status.MATCHED).count()
    return [
        Figure(
            name="cashapp_import_match_apply",
            unit="s",
            samples=[seconds],
            floor=floor,
            target="< 30 s at scale 1 (10,000 lines vs 200,000 open invoices of 50,000 customers)",
            extra={
                "lines": lines,
                "open_invoices": invoices,
                "customers": customers,
                "matched": matched,
                "suggested": summary.suggested,
                "unmatched": summary.unmatched,
                "auto_rate": round(matched / lines, 4),
                "file_bytes": len(data),
                "data_build_seconds": round(build_seconds, 1),
            },
        )
    ]


def _floor_exact_references(open_items, entries) -> float:
    """The same number of invoices settled by one set-based UPDATE joined on exact numbers, in a
    transaction rolled back: the least the database must do."""
    by_number = {number: invoice_id for invoice_id, number, _, _ in open_items}
    pairs = [(by_number[e["remittance"]], e["amount"]) for e in entries if e.get("remittance") in by_number]
    values = ",".join(f"({invoice_id},{amount})" for invoice_id, amount in pairs) or "(0,0)"
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE invoicing_invoice i SET amount_open = 0, status = 'paid' FROM (VALUES "
                + values
                + ") v(id, amount) WHERE i.id = v.id AND i.amount_open = v.amount"
            )
            raise _Rollback
    except _Rollback:
        pass
    elapsed = time.perf_counter() - started
    return elapsed * max(1, len(entries)) / max(1, len(pairs))


class _Rollback(Exception):
    pass
