"""Reads of customers, products and sales orders for pages."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower
from rapidfuzz import fuzz

from .models import Contact, Customer, Product, SalesOrder

SIMILAR_NAME = 0.6  # pg_trgm similarity; "Acme Trading BV" vs "ACME Trading B.V." is ~0.7

ORDER_LIST_ORDER = ("-order_date", "-id")  # matches the salesorder_keyset index
# the order list's sortable columns: GET sort=<key>; every order ends on the unique id (keyset)
ORDER_SORTS = {
    "-date": ORDER_LIST_ORDER,
    "date": ("order_date", "id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
}
ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=3))


def order_list(
    *,
    status: str = "",
    customer: str = "",
    channel: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    q: str = "",
) -> QuerySet[SalesOrder]:
    """Orders for the order list, newest first, filtered by whatever was given.

    `customer` matches part of the name or account number; `q` part of the order number or
    the customer's PO. Drafts have no number yet but are listed too (they are work to finish)."""
    orders = SalesOrder.objects.select_related("customer").only(
        "number",
        "order_date",
        "customer_po",
        "status",
        "total",
        "currency",
        "customer__name",
        "customer__account_number",
    )
    if status:
        orders = orders.filter(status=status)
    if channel:
        orders = orders.filter(channel=channel)
    if customer:
        orders = orders.filter(Q(customer__name__icontains=customer) | Q(customer__account_number__icontains=customer))
    if date_from:
        orders = orders.filter(order_date__gte=date_from)
    if date_to:
        orders = orders.filter(order_date__lte=date_to)
    if q:
        orders = orders.filter(Q(number__icontains=q) | Q(customer_po__icontains=q))
    return orders.order_by(*ORDER_LIST_ORDER)


def customer_choices(q: str, *, limit: int = 10) -> list[Customer]:
    """Active customers whose name or account number contains `q`, for a typeahead."""
    q = q.strip()
    if not q:
        return []
    return list(
        Customer.objects.filter(is_active=True)
        .filter(Q(name__icontains=q) | Q(account_number__icontains=q))
        .only("account_number", "name", "city")
        .order_by("name", "id")[:limit]
    )


def product_choices(q: str, *, limit: int = 15) -> list[Product]:
    """Active products whose SKU or name contains `q`, with `available` (on hand - reserved over
    all warehouses) for a typeahead. Stock lives in fulfillment, a layer above: it is read
    through the reverse relation `stock` rather than by importing that app."""
    q = q.strip()
    if not q:
        return []
    return list(
        Product.objects.filter(is_active=True)
        .filter(Q(sku__icontains=q) | Q(name__icontains=q))
        .annotate(available=Coalesce(Sum(F("stock__on_hand") - F("stock__reserved")), ZERO_QTY))
        .order_by("sku")[:limit]
    )


@dataclass
class Duplicate:
    customer: Customer
    why: str


def similar_customers(*, name: str, tax_id: str = "", exclude_pk: int | None = None, limit: int = 5) -> list[Duplicate]:
    """Customers that may be the one being created: the same tax id, or a very similar name
    (pg_trgm similarity over the trigram GIN index on lower(name); rapidfuzz on SQLite)."""
    found: dict[int, Duplicate] = {}
    others = Customer.objects.exclude(pk=exclude_pk) if exclude_pk else Customer.objects.all()
    compact = "".join(ch for ch in tax_id.upper() if ch.isalnum())
    if compact:
        for customer in others.filter(tax_id__iexact=compact)[:limit]:
            found[customer.pk] = Duplicate(customer, f"same tax id {customer.tax_id}")
    name = name.strip().lower()
    if len(name) >= 3:
        if connection.vendor == "postgresql":
            candidates = (
                others.extra(where=["lower(orders_customer.name) %% %s"], params=[name])  # uses the GIN index
                .annotate(similarity=TrigramSimilarity(Lower("name"), name))
                .filter(similarity__gte=SIMILAR_NAME)
                .order_by("-similarity", "id")[:limit]
            )
            scored = [(c, c.similarity) for c in candidates]
        else:  # the embedded SQLite install: few customers, compared in Python
            scored = [(c, fuzz.ratio(name, c.name.lower()) / 100) for c in others.only("name", "account_number")]
            scored = sorted((s for s in scored if s[1] >= SIMILAR_NAME + 0.2), key=lambda s: -s[1])[:limit]
        for customer, score in scored:
            found.setdefault(customer.pk, Duplicate(customer, f"similar name ({int(score * 100)}% alike)"))
    return list(found.values())[:limit]


def contact_emails(customer: Customer, role: str) -> list[str]:
    """Where to write to a customer about `role` (orders, invoices, dunning): its contacts with
    that role, or else its invoice email."""
    emails = list(
        Contact.objects.filter(customer=customer, role=role).order_by("name", "id").values_list("email", flat=True)
    )
    return emails or ([customer.email] if customer.email else [])


CUSTOMER_LIST_ORDER = ("-created_at", "-id")  # newest first; keyset cursors need no "_" in the key


def customer_list(*, q: str = "", status: str = "", segment: str = "") -> QuerySet[Customer]:
    """Customers for the clerks' list, newest first; `q` matches name, account number or tax id."""
    customers = Customer.objects.select_related("payment_terms").only(
        "account_number", "name", "city", "country", "currency", "tax_id", "segment", "is_active",
        "blocked_reason", "payment_terms__name", "created_at",
    )  # fmt: skip
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(account_number__icontains=q) | Q(tax_id__icontains=q))
    if status == "active":
        customers = customers.filter(is_active=True)
    elif status == "blocked":
        customers = customers.filter(is_active=False)
    if segment:
        customers = customers.filter(segment=segment)
    return customers.order_by(*CUSTOMER_LIST_ORDER)


def orders_with_po(customer: Customer | None, po: str, *, exclude: SalesOrder | None = None) -> list[SalesOrder]:
    """Orders of the customer already carrying this PO (not cancelled): a warning at entry."""
    po = (po or "").strip()
    if customer is None or not po:
        return []
    orders = SalesOrder.objects.filter(customer=customer, customer_po__iexact=po).exclude(
        status=SalesOrder.Status.CANCELLED
    )
    if exclude is not None:
        orders = orders.exclude(pk=exclude.pk)
    return list(orders.only("number", "order_date", "status")[:5])
