from decimal import Decimal

import factory

from orders.models import Customer, PaymentTerms, Product


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    account_number = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n} BV")
    email = factory.LazyAttribute(lambda c: f"ap@{c.account_number.lower()}.example")
    address_line = "Rue Neuve 10"
    postal_code = "1000"
    city = "Brussels"
    country = "BE"
    currency = "EUR"
    # get_or_create: transactional tests flush the rows the data migration made
    payment_terms = factory.LazyFunction(
        lambda: PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})[0]
    )


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Widget {n}")
    unit_price = Decimal("10.00")
    tax_rate = Decimal("0.2100")
    is_stock_tracked = True
