"""Every CSV sample, read through the column mapping its bank would have saved."""

import pytest

from receivables.models import CsvMapping

from .statement_table import check, every_sample

pytestmark = pytest.mark.django_db
C = "csv/oca-bank-statement-import-16.0/"
OCA = {"date_column": "Date", "text_column": "Label", "counterparty_name_column": "Partner Name"}

MAPPINGS = {
    "balance.csv": dict(OCA, amount_column="Amount", balance_column="Balance"),
    "debit_credit.csv": dict(OCA, amount_column="Amount", sign_column="D/C", balance_column="Balance"),
    "debit_credit_amount.csv": dict(OCA, debit_column="Debit", credit_column="Credit", balance_column="Balance"),
    "empty_statement_en.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "meta_data_separated_credit_debit.csv": {
        "header_starts_with": "Date",
        "date_format": "%d/%m/%y",
        "decimal_separator": ",",
        "date_column": "Date",
        "debit_column": "Debit",
        "credit_column": "Credit",
        "text_column": "Label",
        "reference_column": "Operation Number",
    },
    "multi_currency.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency_empty.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency_no_header.csv": {
        "has_header": False,
        "date_column": "0",
        "text_column": "1",
        "currency_column": "2",
        "amount_column": "3",
        "counterparty_name_column": "5",
        "reference_column": "7",
    },
    "sample_statement_credit_card_inverse_sign_en.csv": dict(
        OCA, amount_column="Amount", currency_column="Currency", invert_sign=True
    ),
    "sample_statement_en.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
}

EXPECTED = {
    C + "balance.csv": ("ok", 1, 2, "1500.00", "10.00", "1510.00"),
    C + "debit_credit.csv": ("ok", 1, 2, "1500.00", "10.00", "1510.00"),
    # the third row's balance (10.00) does not follow from the rows before it
    C + "debit_credit_amount.csv": (
        "refused",
        "line 4: the running balance says 10.00, the lines before it add up to -57.00",
    ),
    C + "empty_statement_en.csv": ("ok", 1, 0, "0", None, None),
    # a footer row below the lines ("Balance at start of period") is not a line
    C + "meta_data_separated_credit_debit.csv": (
        "refused",
        "line 10, date: 'Balance at start of period' is not a date",
    ),
    C + "multi_currency.csv": ("refused", "line 2: amount in USD on a EUR account"),
    C + "original_currency.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "original_currency_empty.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "original_currency_no_header.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "sample_statement_credit_card_inverse_sign_en.csv": ("refused", "line 2: amount in USD on a EUR account"),
    C + "sample_statement_en.csv": ("refused", "line 2: amount in USD on a EUR account"),
}


def test_the_table_covers_every_sample():
    assert set(EXPECTED) == every_sample("csv")


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample(relative):
    name = relative.rsplit("/", 1)[1]
    mapping = CsvMapping.objects.create(name=name, **MAPPINGS[name])
    check(relative, EXPECTED[relative], csv_mapping=mapping)


def test_a_csv_without_a_mapping_is_refused_with_the_reason():
    with pytest.raises(Exception) as refused:
        check(C + "balance.csv", ("ok", 1, 2, "1500.00", "10.00", "1510.00"))
    assert "a CSV needs the bank account's column mapping" in str(refused.value)


def test_a_lockbox_check_batch_is_applied_as_checks(tmp_path):
    from decimal import Decimal

    from invoicing.models import BankAccount
    from o2c import flow
    from receivables.models import Payment
    from tests.orders.factories import CustomerFactory

    from .factories import open_invoice

    customer = CustomerFactory(name="Harbor Optics NV")
    first, second, third = (open_invoice(customer, amount) for amount in ("120.00", "80.00", "45.50"))
    account = BankAccount.objects.create(name="Lockbox", iban="BE68539007547034", currency="EUR")
    CsvMapping.objects.create(
        name="Lockbox 42",
        bank_account=account,
        date_format="%Y-%m-%d",
        date_column="deposit_date",
        amount_column="amount",
        reference_column="check_number",
        counterparty_name_column="payer",
        text_column="invoices",
        payment_method="check",
    )
    data = (
        "deposit_date,check_number,payer,amount,invoices\n"
        f"2026-11-12,000481,Harbor Optics NV,200.00,{first.number};{second.number}\n"
        f"2026-11-12,000482,Harbor Optics NV,45.50,{third.number}\n"
        "2026-11-12,000483,Unknown Payer,19.99,\n"
    ).encode()
    result, summary = flow.import_statement(bank_account=account, data=data, file_name="lockbox.csv")
    assert (summary.lines, summary.matched, summary.unmatched) == (3, 2, 1)
    assert set(Payment.objects.values_list("method", flat=True)) == {"check"}
    assert sum(p.amount for p in Payment.objects.all()) == Decimal("245.50")
    for invoice in (first, second, third):
        invoice.refresh_from_db()
        assert invoice.status == "paid"
