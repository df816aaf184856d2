"""Shared by the receivables tests: import a sample statement file into a bank account made for it."""

from pathlib import Path

from invoicing.models import BankAccount
from o2c import flow
from receivables.statements import parse_file

TESTDATA = Path(__file__).resolve().parents[1] / "standards" / "testdata"


def account_for(data: bytes, name: str, *, csv_mapping=None, currency: str = "EUR") -> BankAccount:
    """The bank account a sample belongs to: the IBAN and currency of its first statement."""
    try:
        _, statements = parse_file(data, name, csv_mapping=csv_mapping, default_currency=currency)
        iban = statements[0].account.replace(" ", "") or "BE68539007547034"
        currency = statements[0].currency or currency
    except Exception:  # noqa: BLE001 - a refused file still needs an account to be refused into
        iban = "BE68539007547034"
    if not (len(iban) >= 15 and iban[:2].isalpha() and iban[2:4].isdigit()):
        iban = "BE68539007547034"
    account, _ = BankAccount.objects.get_or_create(iban=iban, defaults={"name": f"Sample {iban}", "currency": currency})
    return account


def import_sample(relative: str, *, csv_mapping=None, by=None):
    path = TESTDATA / relative
    data = path.read_bytes()
    account = account_for(data, path.name, csv_mapping=csv_mapping)
    if csv_mapping is not None:
        csv_mapping.bank_account = account
        csv_mapping.save()
    return account, flow.import_statement(bank_account=account, data=data, file_name=path.name, by=by)
