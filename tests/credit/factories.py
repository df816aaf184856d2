from decimal import Decimal

from credit.models import CreditProfile


def credit_limit(customer, limit: str = "100000.00", max_overdue_days: int | None = None) -> CreditProfile:
    """A credit profile with `limit`; days overdue follow the policy unless overridden here."""
    return CreditProfile.objects.create(
        customer=customer, credit_limit=Decimal(limit), max_overdue_days=max_overdue_days
    )
