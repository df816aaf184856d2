"""Malicious and broken files import nothing and leave the server up; the same file twice, or
an overlapping statement, adds no line twice; the previous statement's closing balance is checked."""

from decimal import Decimal

import pytest

from invoicing.models import BankAccount
from o2c import flow
from receivables.models import BankStatement, StatementLine
from receivables.statements import StatementFileError

from .helpers import TESTDATA

pytestmark = pytest.mark.django_db
TXDTLS = TESTDATA / "camt053/oca-bank-statement-import-16.0/test-camt053-txdtls"
IBAN = "CH1111000000123456789"


@pytest.fixture
def account():
    return BankAccount.objects.create(name="Postfinance", iban=IBAN, currency="CHF")


def refused(account, data: bytes) -> str:
    with pytest.raises(StatementFileError) as error:
        flow.import_statement(bank_account=account, data=data, file_name="evil.xml")
    assert not BankStatement.objects.exists() and not StatementLine.objects.exists()
    return error.value.message


def test_truncated_xml_names_the_place(account):
    data = TXDTLS.read_bytes()
    message = refused(account, data[: len(data) // 2])
    assert message.startswith("XML line ") and "not well-formed XML" in message


def test_external_entity_is_refused_without_reading_it(account, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>
</Stmt></BkToCstmrStmt></Document>""".encode()
    message = refused(account, data)
    assert "declares a DTD or entities" in message and "TOP-SECRET" not in message


def test_billion_laughs_is_refused_at_once(account):
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>
<Document><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>""".encode()
    assert "declares a DTD or entities" in refused(account, data)
    # and the next, honest file still imports
    result, _ = flow.import_statement(bank_account=account, data=TXDTLS.read_bytes(), file_name="ok.xml")
    assert result.lines_added == 2


def test_a_statement_for_another_account_is_refused(account):
    other = BankAccount.objects.create(name="Other", iban="BE68539007547034", currency="CHF")
    message = refused(other, TXDTLS.read_bytes())
    assert f"the statement is for {IBAN}, not for BE68539007547034" in message


def test_same_file_twice_and_an_overlapping_statement_add_each_line_once(account):
    data = TXDTLS.read_bytes()
    first, _ = flow.import_statement(bank_account=account, data=data, file_name="a.xml")
    again, _ = flow.import_statement(bank_account=account, data=data, file_name="a.xml")
    assert (first.lines_added, again.lines_added, again.already_imported) == (2, 0, 1)
    # the next statement repeats the bank's two transactions and adds one of its own
    text = data.decode()
    overlap = text.replace("<Id>20170323123456789012345</Id>", "<Id>NEXT-STATEMENT</Id>")
    extra = """<Ntry><Amt Ccy="CHF">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2017-03-24</Dt></BookgDt><ValDt><Dt>2017-03-24</Dt></ValDt><AcctSvcrRef>NEW-1</AcctSvcrRef>
      <BkTxCd/></Ntry>"""
    overlap = overlap.replace("</Stmt>", extra + "</Stmt>", 1)
    overlap = overlap.replace("79443.15", "79453.15")
    second, _ = flow.import_statement(bank_account=account, data=overlap.encode(), file_name="b.xml")
    assert second.lines_added == 1
    assert StatementLine.objects.count() == 3
    assert second.statements[0].lines_in_file == 3


def test_a_gap_after_the_previous_statement_is_reported(account):
    data = TXDTLS.read_bytes().decode()
    flow.import_statement(bank_account=account, data=data.encode(), file_name="a.xml")
    later = (
        data.replace("<Id>20170323123456789012345</Id>", "<Id>LATER</Id>")
        .replace("75960.15", "75000.00")
        .replace("79443.15", "78483.00")
        .replace("2017-03-23", "2017-03-30")
    )
    result, _ = flow.import_statement(bank_account=account, data=later.encode(), file_name="c.xml")
    assert result.statements[0].continuity_difference == Decimal("-4443.15")
    assert "differs from the previous statement's closing balance by -4443.15" in result.warnings[0]
