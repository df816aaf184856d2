"""Due dates and early-payment discounts: pure functions from terms and a date to dates and
amounts, so they can be table-tested (month ends, leap years) without a database."""

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from o2c.core.money import round_money

HUNDRED = Decimal("100")


def end_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(issue_date: datetime.date, *, days: int, from_end_of_month: bool = False) -> datetime.date:
    """Net N: the invoice date + N days. End of month + N: the last day of the invoice's
    month + N days (30 Jan, EOM + 30 -> 2 Mar, or 1 Mar in a leap year)."""
    start = end_of_month(issue_date) if from_end_of_month else issue_date
    return start + datetime.timedelta(days=days)


@dataclass(frozen=True)
class Instalment:
    sequence: int
    due_date: datetime.date
    percent: Decimal
    amount: Decimal


def instalments(
    total: Decimal, issue_date: datetime.date, parts: list[tuple[Decimal, int, bool]], currency: str = "EUR"
) -> list[Instalment]:
    """Split `total` into parts (percent, days, from end of month). Each part is rounded to
    the currency; the last takes what is left, so the instalments always add up to the total."""
    if not parts:
        raise ValueError("No instalments given.")
    if sum((percent for percent, _, _ in parts), Decimal("0")) != HUNDRED:
        raise ValueError("The instalment percents must add up to 100.")
    schedule, allotted = [], Decimal("0")
    ordered = sorted(parts, key=lambda part: due_date(issue_date, days=part[1], from_end_of_month=part[2]))
    for sequence, (percent, days, eom) in enumerate(ordered, start=1):
        is_last = sequence == len(ordered)
        amount = total - allotted if is_last else round_money(total * percent / HUNDRED, currency)
        allotted += amount
        schedule.append(Instalment(sequence, due_date(issue_date, days=days, from_end_of_month=eom), percent, amount))
    return schedule


@dataclass(frozen=True)
class EarlyPaymentDiscount:
    percent: Decimal
    pay_by: datetime.date
    amount: Decimal  # taken off the total when paid by pay_by
    pay_amount: Decimal


def early_payment_discount(
    total: Decimal, issue_date: datetime.date, *, percent: Decimal, days: int, currency: str = "EUR"
) -> EarlyPaymentDiscount | None:
    """ "2% within 10 days": pay total - 2% (rounded half up to the currency) by invoice date + 10."""
    if not percent or percent <= 0:
        return None
    amount = round_money(total * percent / HUNDRED, currency)
    return EarlyPaymentDiscount(percent, issue_date + datetime.timedelta(days=days), amount, total - amount)
