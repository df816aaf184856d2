"""On seeded noisy remittances, the engine applies at least 90% of customer receipts by itself
and is wrong on at most 0.5% of what it applies (precision >= 99.5%)."""

import datetime
import random
from collections import Counter
from decimal import Decimal

import pytest

from invoicing.models import BankAccount
from o2c import flow
from o2c.bench.cashapp import camt053_document
from orders.models import PaymentTerms
from receivables import selectors
from receivables.models import Allocation, PayerIdentity, StatementLine
from tests.orders.factories import CustomerFactory

from .factories import open_invoice
from .remittances import Book, generate

pytestmark = pytest.mark.django_db
ON = datetime.date(2026, 11, 20)
WORDS_A = [
    "Acme",
    "Brabant",
    "Delta",
    "Noord",
    "Orion",
    "Pioneer",
    "Quartz",
    "Rhine",
    "Saturn",
    "Tulip",
    "Vega",
    "Zenith",
    "Atlas",
    "Boreal",
    "Cobalt",
    "Dune",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
]
WORDS_B = [
    "Trading",
    "Logistics",
    "Foods",
    "Metals",
    "Textiles",
    "Pharma",
    "Timber",
    "Optics",
    "Motors",
    "Plastics",
    "Ceramics",
    "Robotics",
]


def build_book(customers: int = 120, invoices_each: int = 4, seed: int = 3) -> Book:
    rng = random.Random(seed)
    discount = PaymentTerms.objects.create(
        code="2-10-NET30", name="2% 10 days, 30 net", net_days=30, discount_percent=Decimal("2"), discount_days=10
    )
    names = rng.sample([f"{a} {b}" for a in WORDS_A for b in WORDS_B], customers)
    items, iban_of, name_of, discount_customers = [], {}, {}, set()
    for n, name in enumerate(names):
        customer = CustomerFactory(name=f"{name} {rng.choice(['NV', 'BV', 'GmbH', 'SA', 'Ltd'])}")
        if n % 3 == 0:
            customer.payment_terms = discount
            customer.save()
            discount_customers.add(customer.pk)
        name_of[customer.pk] = customer.name
        if n % 4:
            iban = f"NL{10 + n % 89:02d}BANK{n:010d}"
            iban_of[customer.pk] = iban
            PayerIdentity.objects.create(kind="iban", value=iban, customer=customer, learned_from="earlier match")
        for _ in range(invoices_each):
            issue = ON - datetime.timedelta(days=rng.randint(1 if n % 3 == 0 else 12, 40))
            amount = Decimal(rng.randint(2_000, 900_000)) / 100
            invoice = open_invoice(customer, amount, issue_date=issue)
            items.append((invoice.pk, invoice.number, customer.pk, amount, issue))
    return Book(items=items, iban_of=iban_of, name_of=name_of, discount_customers=discount_customers)


def test_auto_match_rate_and_precision_on_noisy_remittances():
    book = build_book()
    cases = generate(book, lines=300, seed=7, on=ON)
    account = BankAccount.objects.create(name="Main", iban="BE71096123456769", currency="EUR")
    data = camt053_document(
        iban=account.iban,
        currency="EUR",
        statement_id="NOISY-1",
        opening=Decimal("1000.00"),
        on=ON,
        entries=[case.entry for case in cases],
    )
    result, summary = flow.import_statement(bank_account=account, data=data, file_name="noisy.xml")
    assert result.lines_added == len(cases)

    lines = {line.bank_reference: line for line in StatementLine.objects.filter(statement__in=result.statements)}
    applied_to = {}
    for allocation in Allocation.objects.select_related("payment"):
        applied_to.setdefault(allocation.payment_id, set()).add(allocation.invoice_id)
    receipts = [case for case in cases if case.entry["amount"] > 0]
    auto, wrong, by_kind, wrong_cases = 0, 0, Counter(), []
    for case in cases:
        line = lines[case.entry["reference"]]
        if line.status == StatementLine.Status.MATCHED and line.payment_id:
            auto += 1
            by_kind[case.kind] += 1
            if frozenset(applied_to.get(line.payment_id, set())) != case.expected_invoices:
                wrong += 1
                wrong_cases.append((case.kind, case.entry["remittance"], line.explanation))
        elif not case.expected_invoices:
            assert line.status in (
                StatementLine.Status.IGNORED,
                StatementLine.Status.UNMATCHED,
                StatementLine.Status.SUGGESTED,
            )
    rate = auto / len(receipts)
    precision = 1 - wrong / auto
    kinds = Counter(case.kind for case in cases)
    report = "\n".join(f"  {kind:18} {by_kind[kind]:3} of {count:3} applied" for kind, count in sorted(kinds.items()))
    print(
        f"\nauto-applied {auto} of {len(receipts)} receipts ({rate:.1%}), wrong {wrong}, "
        f"precision {precision:.2%}\n{report}"
    )
    assert precision >= 0.995, wrong_cases
    assert rate >= 0.90, report
    # the ledger still agrees with the open items and unapplied cash, customer by customer
    assert selectors.ledger_integrity_problems() == []
    # and what was left is explained for the clerk
    for line in StatementLine.objects.filter(status__in=["suggested", "unmatched"]):
        assert line.explanation
