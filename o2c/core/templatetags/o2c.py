from django import template

from o2c.core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency=""):
    """{{ invoice.total|money:invoice.currency }} -> 1,234.50 EUR"""
    return format_money(amount, currency)


@register.filter
def percent(fraction):
    """0.21 -> 21%"""
    if fraction is None:
        return ""
    value = fraction * 100
    return f"{value.normalize():f}%" if hasattr(value, "normalize") else f"{value:.0f}%"
