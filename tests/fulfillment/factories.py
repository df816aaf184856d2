from decimal import Decimal

from fulfillment.models import StockItem, Warehouse


def stock(product, quantity: str = "100", warehouse_code: str = "MAIN") -> StockItem:
    warehouse, _ = Warehouse.objects.get_or_create(code=warehouse_code, defaults={"name": "Main", "is_default": True})
    return StockItem.objects.create(warehouse=warehouse, product=product, on_hand=Decimal(quantity))
