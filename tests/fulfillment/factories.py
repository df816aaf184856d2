from decimal import Decimal

from fulfillment import services
from fulfillment.models import ExpectedReceipt, StockItem, Warehouse


def warehouse(code: str = "MAIN", *, is_default: bool | None = None) -> Warehouse:
    found, _ = Warehouse.objects.get_or_create(
        code=code, defaults={"name": code.title(), "is_default": code == "MAIN" if is_default is None else is_default}
    )
    return found


def stock(product, quantity: str = "100", warehouse_code: str = "MAIN") -> StockItem:
    """Opening stock through the ledger (a receipt movement), so balances equal movement sums."""
    return services.receive_stock(
        warehouse=warehouse(warehouse_code), product=product, quantity=Decimal(quantity), note="Opening stock"
    )


def expected(product, quantity: str, on, warehouse_code: str = "MAIN", reference: str = "PO-1") -> ExpectedReceipt:
    return ExpectedReceipt.objects.create(
        warehouse=warehouse(warehouse_code),
        product=product,
        quantity=Decimal(quantity),
        expected_date=on,
        reference=reference,
    )
