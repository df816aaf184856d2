from django.conf import settings
from django.db import models

from orders.models import Customer


class PortalAccess(models.Model):
    """Which customer account a portal user acts for. Every portal query is scoped by it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_access")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="portal_users")

    class Meta:
        verbose_name_plural = "portal access"
        permissions = [("use_portal", "Can use the customer portal")]

    def __str__(self) -> str:
        return f"{self.user} for {self.customer}"
