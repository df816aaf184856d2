"""Tables out as CSV and XLSX, safe to open in a spreadsheet.

A cell whose text starts with =, +, -, @, tab or carriage return would be run as a formula by
Excel or LibreOffice (CSV injection, OWASP). Such text is written with a leading apostrophe,
which spreadsheets show as plain text; numbers, dates and Decimals are written as values.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value):
    """Text that a spreadsheet would evaluate becomes inert text; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel reads UTF-8 names right


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Export") -> bytes:
    workbook = Workbook(write_only=False)
    worksheet = workbook.active
    worksheet.title = sheet[:31]
    worksheet.append(list(headers))
    for row in rows:
        worksheet.append([_xlsx_value(v) for v in row])
    for row_cells in worksheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING  # never a formula, whatever the text
    worksheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_value(value):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def download(headers: Sequence[str], rows: Iterable[Sequence], *, filename: str, file_format: str) -> HttpResponse:
    """An attachment response: file_format "csv" or "xlsx"; filename without extension."""
    if file_format == "xlsx":
        response = HttpResponse(xlsx_bytes(headers, rows), content_type=XLSX_TYPE)
    elif file_format == "csv":
        response = HttpResponse(csv_bytes(headers, rows), content_type="text/csv; charset=utf-8")
    else:
        raise ValueError(f"Unknown export format {file_format!r}: csv or xlsx.")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    return response
