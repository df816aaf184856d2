"""Keyset pagination: "the rows after this one", never OFFSET and never COUNT(*) (PERFORMANCE.md).

A page is read with one query of `per_page + 1` rows; the extra row only tells whether there
is a next page. The cursor is the sort key of the last row shown, written into the `after` GET
parameter as its values joined by "_" (e.g. "2026-03-01_1234" for order_date, id), so page
URLs stay shareable and every other GET parameter (the filters) is kept.

The sort fields must be non-null columns of the model whose text has no "_" (dates, numbers),
and end with a unique one (the id), so every row has exactly one place in the order.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

PER_PAGE = 50
CURSOR_PARAM = "after"
SEPARATOR = "_"


@dataclass
class Page:
    """What includes/pagination.html renders: links only, the rows are in `rows`."""

    rows: list = field(default_factory=list)
    has_next: bool = False
    next_url: str = ""
    has_previous: bool = False
    first_url: str = ""

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def keyset_page(request, queryset: QuerySet, *, order: tuple[str, ...], per_page: int = PER_PAGE) -> Page:
    """One page of `queryset` sorted by `order` (e.g. ("-order_date", "-id") or ("due_date", "id")),
    starting after the row named by the request's `after` parameter.

    An `after` value that does not parse is treated as no cursor: the first page."""
    queryset = queryset.order_by(*order)
    cursor = _parse_cursor(queryset.model, order, request.GET.get(CURSOR_PARAM, ""))
    if cursor is not None:
        queryset = queryset.filter(_after(order, cursor))
    rows = list(queryset[: per_page + 1])
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    page = Page(rows=rows, has_next=has_next, has_previous=cursor is not None)
    if has_next:
        page.next_url = _url_with(request, _cursor_of(rows[-1], order))
    if page.has_previous:
        page.first_url = _url_with(request, None)
    return page


def _names(order: tuple[str, ...]) -> list[str]:
    return [name.removeprefix("-") for name in order]


def _after(order: tuple[str, ...], cursor: list) -> Q:
    """(a, b) after (x, y) in (a desc, b desc) order: a < x, or a = x and b < y; and so on."""
    condition = Q()
    equal_so_far = Q()
    for name, value in zip(order, cursor, strict=True):
        column = name.removeprefix("-")
        lookup = "lt" if name.startswith("-") else "gt"
        condition |= equal_so_far & Q(**{f"{column}__{lookup}": value})
        equal_so_far &= Q(**{column: value})
    return condition


def _parse_cursor(model, order: tuple[str, ...], text: str) -> list | None:
    names = _names(order)
    parts = text.split(SEPARATOR) if text else []
    if len(parts) != len(names):
        return None
    try:
        return [model._meta.get_field(name).to_python(part) for name, part in zip(names, parts, strict=True)]
    except (ValidationError, ValueError, TypeError):
        return None


def _cursor_of(row, order: tuple[str, ...]) -> str:
    values = [row[name] if isinstance(row, dict) else getattr(row, name) for name in _names(order)]
    return SEPARATOR.join(value.isoformat() if hasattr(value, "isoformat") else str(value) for value in values)


def _url_with(request, cursor: str | None) -> str:
    params = request.GET.copy()
    params.pop(CURSOR_PARAM, None)
    if cursor is not None:
        params[CURSOR_PARAM] = cursor
    query = params.urlencode()
    return f"{request.path}?{query}" if query else request.path
