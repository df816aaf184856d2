from decimal import Decimal

from credit.models import CreditProfile


def credit_limit(customer, limit: str = "100000.00", max_overdue_days: int = 30) -> CreditProfile:
    return CreditProfile.objects.create(
        customer=customer, credit_limit=Decimal(limit), max_overdue_days=max_overdue_days
    )
