"""CSV order import: read a file of many orders, check every row before anything is saved,
and keep the state of one import (preview -> queued -> importing -> imported).

A file is refused whole (ImportFileError, nothing stored) when it cannot be read as our CSV:
empty, too big, not text, not UTF-8, not CSV, or missing a required column. Otherwise every
row is checked and each problem is kept as (line, column, reason, order key); an order with a
problem in any of its rows is a bad order, and the clerk chooses whether to import the good
orders only. Saving goes through o2c.flow.import_orders (one transaction per order).
"""

import csv
import datetime
import io
from collections import OrderedDict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from o2c.core.errors import DomainError

from .models import Address, Customer, OrderImport, SalesOrder
from .services import LineInput, check_customer, check_ship_to, price_lines, products_by_sku

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    per: str  # "order" (same on every row of an order) or "line"
    meaning: str
    example: str


COLUMNS = [
    Column(
        "order_key", True, "order", "Your reference for the order; rows with the same key form one order.", "A-1001"
    ),
    Column("customer_account", True, "order", "The customer's account number.", "C00001"),
    Column("sku", True, "line", "The product's SKU.", "W-1"),
    Column("quantity", True, "line", "Units ordered, more than 0 (a dot for decimals).", "5"),
    Column("customer_po", False, "order", "The customer's purchase order number.", "PO-778"),
    Column("requested_date", False, "order", "Requested delivery date, YYYY-MM-DD.", "2026-12-01"),
    Column("ship_to", False, "order", "Label of one of the customer's shipping addresses; empty = main address.", ""),
    Column("unit_price", False, "line", "Expected price; checked against the price list (empty = the list's).", ""),
    Column("discount_percent", False, "line", "Line discount in %, within your role's limit.", ""),
    Column("override_reason", False, "line", "Why the price or discount differs (needs the override permission).", ""),
    Column("notes", False, "order", "Notes for the order.", ""),
]
REQUIRED = [c.name for c in COLUMNS if c.required]
KNOWN = {c.name for c in COLUMNS}
ORDER_FIELDS = [c.name for c in COLUMNS if c.per == "order" and c.name != "order_key"]
# price_lines names fields by the order form's words; the file's columns are these
FIELD_TO_COLUMN = {
    "product": "sku",
    "price": "sku",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "discount": "discount_percent",
    "override_reason": "override_reason",
}


class ImportFileError(DomainError):
    """The file as a whole cannot be read; nothing was stored."""


class ImportError_(DomainError):  # noqa: N801  (ImportError is Python's)
    """A step of an import was refused (e.g. importing a file with bad orders, not choosing
    to import the good ones only)."""


def template_csv() -> str:
    """The downloadable example: every column, two orders, one with two lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in COLUMNS])
    rows = [
        ["A-1001", "C00001", "W-1", "5", "PO-778", "2026-12-01", "", "", "", "", "Deliver before noon"],
        ["A-1001", "C00001", "W-2", "2", "PO-778", "2026-12-01", "", "", "", "", "Deliver before noon"],
        ["A-1002", "C00002", "W-1", "10", "PO-91", "", "", "", "", "", ""],
    ]
    writer.writerows(rows)
    return out.getvalue()


# --- reading the file ----------------------------------------------------------------------------
@dataclass
class Sheet:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, values by column)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # row-shape problems


def read_csv(data: bytes) -> Sheet:
    """Decode and split the file, or raise ImportFileError saying why it cannot be read."""
    if not data or not data.strip():
        raise ImportFileError("The file is empty: there is nothing to import.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is {len(data) // 1024} KB; the limit is {MAX_BYTES // 1024 // 1024} MB.")
    kind = _binary_kind(data)
    if kind:
        raise ImportFileError(f"This is not a CSV file: it looks like {kind}. Save it as 'CSV UTF-8' and upload that.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(
            f"The file is not UTF-8 text: byte 0x{data[error.start]:02x} on line {line} cannot be read "
            "(Excel's plain 'CSV' is Windows-1252). Save it as 'CSV UTF-8' and upload it again."
        ) from None
    first_line = text.lstrip().splitlines()[0] if text.strip() else ""
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        columns = [name.strip().lower().replace(" ", "_") for name in header]
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            found = ", ".join(c for c in columns if c) or "nothing"
            raise ImportFileError(
                f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. The first line must name the "
                f"columns ({', '.join(REQUIRED)} are required); it has: {found}."
            )
        duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
        if duplicated:
            raise ImportFileError(f"Column{'s' if len(duplicated) > 1 else ''} named twice: {', '.join(duplicated)}.")
        sheet = Sheet(columns=columns, rows=[])
        line = reader.line_num
        for values in reader:
            row_line = line + 1
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(columns):
                sheet.problems.append(
                    (row_line, "row", f"has {len(values)} values, the first line names {len(columns)} columns")
                )
                continue
            sheet.rows.append((row_line, {c: v.strip() for c, v in zip(columns, values, strict=True) if c in KNOWN}))
            if len(sheet.rows) > MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
    except csv.Error as error:
        raise ImportFileError(f"This is not valid CSV: line {reader.line_num}: {error}.") from None
    if not sheet.rows and not sheet.problems:
        raise ImportFileError("The file names its columns but has no rows: there is nothing to import.")
    return sheet


def _binary_kind(data: bytes) -> str:
    head = data[:8]
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (an Excel .xlsx workbook?)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel .xls workbook"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text (save as 'CSV UTF-8' instead)"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"MZ", b"\x7fELF")):
        return "an image or a program"
    if b"\x00" in data[:4096]:
        return "a binary file"
    return ""


# --- grouping and checking -----------------------------------------------------------------------
@dataclass
class PlannedOrder:
    """One order of the file: its key, the lines (file line numbers) and what the flow needs."""

    key: str
    lines: list[int]
    fields: dict[str, str]  # the order-level columns, first non-empty value
    line_inputs: list[LineInput]
    customer: Customer | None = None
    ship_to: Address | None = None
    requested_date: datetime.date | None = None


@dataclass
class Checked:
    row_count: int
    orders: "OrderedDict[str, PlannedOrder]"
    problems: list[tuple[int, str, str, str]]  # (line, column, reason, order key)
    warnings: list[tuple[int, str, str, str]]

    @property
    def bad_keys(self) -> set[str]:
        return {key for _, _, _, key in self.problems}


def group_orders(sheet: Sheet) -> tuple["OrderedDict[str, PlannedOrder]", list[tuple[int, str, str, str]]]:
    """Rows -> orders by order_key, in the order of first appearance. Problems found here:
    an empty key, and an order-level column that differs between rows of one order."""
    orders: OrderedDict[str, PlannedOrder] = OrderedDict()
    problems = [(line, column, reason, f"(line {line})") for line, column, reason in sheet.problems]
    first_line: dict[tuple[str, str], int] = {}
    for line, row in sheet.rows:
        key = row.get("order_key", "")
        if not key:
            problems.append(
                (line, "order_key", "is empty: every row needs the key of the order it belongs to", f"(line {line})")
            )
            continue
        if len(key) > 50:
            problems.append((line, "order_key", "is longer than 50 characters", key[:50]))
            continue
        order = orders.get(key)
        if order is None:
            order = orders[key] = PlannedOrder(key=key, lines=[], fields={}, line_inputs=[])
        order.lines.append(line)
        for name in ORDER_FIELDS:
            value = row.get(name, "")
            if not value:
                continue
            if name not in order.fields:
                order.fields[name] = value
                first_line[(key, name)] = line
            elif order.fields[name] != value:
                problems.append(
                    (
                        line,
                        name,
                        f"'{value}' differs from '{order.fields[name]}' on line {first_line[(key, name)]} "
                        f"of the same order {key}",
                        key,
                    )
                )
        order.line_inputs.append(
            LineInput(
                row.get("sku", ""),
                row.get("quantity", ""),
                unit_price=row.get("unit_price", ""),
                discount_percent=row.get("discount_percent", ""),
                override_reason=row.get("override_reason", ""),
            )
        )
    return orders, problems


def parse_date(text: str) -> datetime.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def check_file(sheet: Sheet, *, by, on_date: datetime.date | None = None) -> Checked:
    """Check every order of the file as order entry would, without saving anything: the
    customer, ship-to, dates, and each line's product, quantity and price. Customers and
    products are read once for the whole file."""
    on_date = on_date or timezone.localdate()
    orders, problems = group_orders(sheet)
    accounts = {order.fields.get("customer_account", "") for order in orders.values()}
    customers = {
        c.account_number: c
        for c in Customer.objects.filter(account_number__in=accounts)
        .select_related("price_list")
        .prefetch_related("addresses")
    }
    products = products_by_sku({line.sku.strip() for order in orders.values() for line in order.line_inputs})
    for order in orders.values():
        first = order.lines[0]
        account = order.fields.get("customer_account", "")
        if not account:
            problems.append((first, "customer_account", "is empty", order.key))
            continue
        order.customer = customers.get(account)
        for _, _, reason in check_customer(order.customer, account):
            problems.append((first, "customer_account", reason, order.key))
        if order.customer is None:
            continue
        if "requested_date" in order.fields:
            order.requested_date = parse_date(order.fields["requested_date"])
            if order.requested_date is None:
                problems.append(
                    (
                        first,
                        "requested_date",
                        f"'{order.fields['requested_date']}' is not a date (YYYY-MM-DD)",
                        order.key,
                    )
                )
            elif order.requested_date < on_date:
                problems.append((first, "requested_date", f"{order.requested_date} is in the past", order.key))
        label = order.fields.get("ship_to", "")
        if label:
            order.ship_to = next(
                (
                    a
                    for a in order.customer.addresses.all()
                    if a.label.lower() == label.lower() and a.kind == "shipping"
                ),
                None,
            )
            if order.ship_to is None:
                problems.append(
                    (first, "ship_to", f"{order.customer.name} has no shipping address '{label}'", order.key)
                )
        for _, _, reason in check_ship_to(order.customer, order.ship_to) if not label or order.ship_to else []:
            problems.append((first, "ship_to", reason, order.key))
        _, line_problems = price_lines(
            customer=order.customer, lines=order.line_inputs, by=by, on_date=on_date, products=products
        )
        for where, name, reason in line_problems:
            if where.startswith("line "):
                index = int(where.split()[1]) - 1
                problems.append((order.lines[index], FIELD_TO_COLUMN.get(name, name), reason, order.key))
            else:
                problems.append((first, name, reason, order.key))
    problems.sort(key=lambda p: (p[0], p[1]))
    return Checked(len(sheet.rows), orders, problems, _po_warnings(orders))


def _po_warnings(orders) -> list[tuple[int, str, str, str]]:
    """A customer PO used before by the same customer (in the file or in an order already
    entered): a warning, since a repeated PO is often a duplicate order."""
    warnings = []
    seen: dict[tuple[int, str], str] = {}
    wanted = {
        (o.customer.pk, o.fields["customer_po"]) for o in orders.values() if o.customer and o.fields.get("customer_po")
    }
    existing: dict[tuple[int, str], str] = {}
    if wanted:
        rows = SalesOrder.objects.filter(
            customer_id__in={c for c, _ in wanted}, customer_po__in={p for _, p in wanted}
        ).exclude(status=SalesOrder.Status.CANCELLED)
        for customer_id, po, number, pk in rows.values_list("customer_id", "customer_po", "number", "pk"):
            existing.setdefault((customer_id, po), number or f"draft #{pk}")
    for order in orders.values():
        po = order.fields.get("customer_po", "")
        if not po or order.customer is None:
            continue
        pair = (order.customer.pk, po)
        if pair in existing:
            warnings.append((order.lines[0], "customer_po", f"PO {po} is already on order {existing[pair]}", order.key))
        elif pair in seen:
            warnings.append(
                (order.lines[0], "customer_po", f"PO {po} is also on order {seen[pair]} of this file", order.key)
            )
        seen.setdefault(pair, order.key)
    return warnings


# --- the import's state ----------------------------------------------------------------------------
def create_import(*, filename: str, data: bytes, by) -> OrderImport:
    """Read and check the file; store it with its problems, waiting for the clerk to confirm.
    Raises ImportFileError (nothing stored) when the file cannot be read."""
    sheet = read_csv(data)
    checked = check_file(sheet, by=by)
    text = data.decode("utf-8-sig")
    return OrderImport.objects.create(
        filename=filename[:200],
        content=text,
        row_count=checked.row_count + len(sheet.problems),
        order_count=len(checked.orders) + len({k for *_, k in checked.problems if k.startswith("(line")}),
        bad_order_count=len(checked.bad_keys),
        problems=[list(p) for p in checked.problems],
        results=[{"warning": list(w)} for w in checked.warnings],
        created_by=by,
    )


def warnings_of(order_import: OrderImport) -> list[list]:
    return [r["warning"] for r in order_import.results if "warning" in r]


@transaction.atomic
def confirm_import(*, order_import: OrderImport, good_only: bool, by) -> OrderImport:
    """The clerk's go: queue the import. A file with bad orders is imported only when the
    clerk chose to import the good orders only."""
    order_import = OrderImport.objects.select_for_update().get(pk=order_import.pk)
    if order_import.status != OrderImport.Status.PREVIEW:
        raise ImportError_(f"{order_import} is {order_import.get_status_display().lower()} already.")
    if order_import.bad_order_count and not good_only:
        raise ImportError_(
            f"{order_import.bad_order_count} order(s) of this file have problems. Fix the file and upload it again, "
            "or choose to import the good orders only.",
            [("import", "good_only", "choose to import the good orders only")],
        )
    if order_import.to_import_count == 0:
        raise ImportError_("No order of this file can be imported: every one has a problem.")
    order_import.good_only = good_only
    order_import.status = OrderImport.Status.QUEUED
    order_import.save(update_fields=["good_only", "status"])
    return order_import


@transaction.atomic
def discard_import(*, order_import: OrderImport, by) -> OrderImport:
    order_import = OrderImport.objects.select_for_update().get(pk=order_import.pk)
    if order_import.status != OrderImport.Status.PREVIEW:
        raise ImportError_(f"{order_import} is {order_import.get_status_display().lower()}; it cannot be discarded.")
    order_import.status = OrderImport.Status.DISCARDED
    order_import.save(update_fields=["status"])
    return order_import


@transaction.atomic
def start_import(*, order_import_id: int) -> OrderImport | None:
    """Claim a queued import (or one whose worker died while importing). None when there is
    nothing to do: done already, discarded, or not confirmed."""
    order_import = OrderImport.objects.select_for_update().get(pk=order_import_id)
    if order_import.status not in (OrderImport.Status.QUEUED, OrderImport.Status.RUNNING):
        return None
    order_import.status = OrderImport.Status.RUNNING
    order_import.started_at = order_import.started_at or timezone.now()
    order_import.save(update_fields=["status", "started_at"])
    return order_import


def record_progress(*, order_import_id: int, imported: int, failed: int) -> None:
    """Counters the progress bar polls; one UPDATE, outside the order's transaction."""
    OrderImport.objects.filter(pk=order_import_id).update(
        processed_count=F("processed_count") + imported + failed,
        imported_count=F("imported_count") + imported,
        failed_count=F("failed_count") + failed,
    )


@transaction.atomic
def finish_import(*, order_import_id: int, results: list[dict]) -> OrderImport:
    order_import = OrderImport.objects.select_for_update().get(pk=order_import_id)
    order_import.results = [{"warning": w} for w in warnings_of(order_import)] + results
    order_import.processed_count = sum(1 for r in results)
    order_import.imported_count = sum(1 for r in results if r["outcome"] != "failed")
    order_import.failed_count = sum(1 for r in results if r["outcome"] == "failed")
    order_import.status = OrderImport.Status.DONE
    order_import.finished_at = timezone.now()
    order_import.save()
    return order_import


def reset_counters(*, order_import_id: int) -> None:
    """A re-run (the worker died) counts again from zero; orders already saved are found by key."""
    OrderImport.objects.filter(pk=order_import_id).update(processed_count=0, imported_count=0, failed_count=0)
