"""CSV and XLSX exports: the same rows come back, and text a spreadsheet would run as a formula
is neutralised (CSV injection)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from o2c.core.exports import csv_bytes, download, neutralise, xlsx_bytes

HEADERS = ["number", "customer", "open"]
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_is_neutralised(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["INV-2026-000001", "Café Noir BV", "", Decimal("-12.50"), -3, None])
def test_ordinary_values_pass_unchanged(value):
    assert neutralise(value) == value  # negative numbers stay numbers


def test_csv_reads_back_with_every_hostile_cell_inert():
    rows = [[f"INV-{i}", text, Decimal("10.00")] for i, text in enumerate(HOSTILE)]
    data = csv_bytes(HEADERS, rows).decode("utf-8-sig")
    back = list(csv.reader(io.StringIO(data)))
    assert back[0] == HEADERS
    assert [row[1] for row in back[1:]] == ["'" + text for text in HOSTILE]
    assert all(not row[1].startswith(("=", "+", "-", "@")) for row in back[1:])


def test_xlsx_reads_back_the_same_rows_and_keeps_formulas_as_text():
    rows = [
        ["INV-1", "Acme NV", Decimal("1234.56"), datetime.date(2026, 11, 1)],
        ["INV-2", HOSTILE[0], Decimal("-0.01"), datetime.date(2026, 2, 28)],
    ]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([*HEADERS, "due"], rows))).active
    back = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert back[0] == [*HEADERS, "due"]
    assert back[1][:3] == ["INV-1", "Acme NV", 1234.56]
    assert back[2][1] == HOSTILE[0]
    assert sheet["B3"].data_type == "s"  # a string cell: the spreadsheet shows it, never runs it
    assert back[2][3].date() == datetime.date(2026, 2, 28)


def test_download_names_the_file_and_refuses_unknown_formats():
    response = download(HEADERS, [], filename="aging", file_format="xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="aging.xlsx"'
    with pytest.raises(ValueError, match="csv or xlsx"):
        download(HEADERS, [], filename="aging", file_format="ods")
