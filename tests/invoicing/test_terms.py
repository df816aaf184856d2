"""Due dates, instalments and early-payment discounts, worked out by hand (invoicing.terms)."""

import datetime
from decimal import Decimal

import pytest

from invoicing import terms

D = datetime.date


@pytest.mark.parametrize(
    "issued, days, eom, due",
    [
        (D(2026, 1, 15), 30, False, D(2026, 2, 14)),  # net 30
        (D(2026, 1, 31), 30, False, D(2026, 3, 2)),  # over a short February
        (D(2028, 1, 31), 30, False, D(2028, 3, 1)),  # leap year: 29 February counts
        (D(2026, 12, 15), 30, False, D(2027, 1, 14)),  # over the year end
        (D(2026, 3, 1), 0, False, D(2026, 3, 1)),  # due on receipt
        (D(2026, 1, 10), 30, True, D(2026, 3, 2)),  # end of January + 30 = 2 March
        (D(2028, 1, 10), 30, True, D(2028, 3, 1)),  # ... 1 March in a leap year
        (D(2026, 2, 1), 0, True, D(2026, 2, 28)),  # end of month, no days
        (D(2028, 2, 14), 0, True, D(2028, 2, 29)),  # leap February's end
        (D(2026, 2, 28), 45, True, D(2026, 4, 14)),  # EOM + 45
        (D(2026, 12, 31), 60, True, D(2027, 3, 1)),  # year end, EOM + 60
        (D(2026, 4, 30), 30, True, D(2026, 5, 30)),  # already the month's end
    ],
)
def test_due_dates(issued, days, eom, due):
    assert terms.due_date(issued, days=days, from_end_of_month=eom) == due


@pytest.mark.parametrize(
    "total, parts, expected",
    [
        # 100.00 in two halves at 30 and 60 days
        ("100.00", [("50", 30, False), ("50", 60, False)], [("50.00", D(2026, 2, 14)), ("50.00", D(2026, 3, 16))]),
        # 100.00 in thirds: 33.33 + 33.33 + the rest 33.34
        (
            "100.00",
            [("33.33", 30, False), ("33.33", 60, False), ("33.34", 90, False)],
            [("33.33", D(2026, 2, 14)), ("33.33", D(2026, 3, 16)), ("33.34", D(2026, 4, 15))],
        ),
        # 120.99 half and half: 60.50 (half up) + the rest 60.49
        ("120.99", [("50", 30, False), ("50", 60, False)], [("60.50", D(2026, 2, 14)), ("60.49", D(2026, 3, 16))]),
        # 30% end of month + 0, 70% end of month + 30, given out of order
        ("1000.00", [("70", 30, True), ("30", 0, True)], [("300.00", D(2026, 1, 31)), ("700.00", D(2026, 3, 2))]),
    ],
)
def test_instalments_add_up_to_the_total(total, parts, expected):
    schedule = terms.instalments(Decimal(total), D(2026, 1, 15), [(Decimal(p), d, e) for p, d, e in parts])
    assert [(str(i.amount), i.due_date) for i in schedule] == expected
    assert sum(i.amount for i in schedule) == Decimal(total)
    assert [i.sequence for i in schedule] == list(range(1, len(expected) + 1))


def test_instalment_percents_must_make_100():
    with pytest.raises(ValueError, match="add up to 100"):
        terms.instalments(Decimal("10"), D(2026, 1, 1), [(Decimal("50"), 30, False), (Decimal("40"), 60, False)])


@pytest.mark.parametrize(
    "total, percent, days, pay_by, discount, pay",
    [
        ("1000.00", "2", 10, D(2026, 1, 25), "20.00", "980.00"),  # 2/10 net 30
        ("120.99", "2", 10, D(2026, 1, 25), "2.42", "118.57"),  # 2.4198 -> 2.42
        ("100.25", "2", 14, D(2026, 1, 29), "2.01", "98.24"),  # 2.005 -> 2.01 (half up)
        ("99.99", "1.5", 8, D(2026, 1, 23), "1.50", "98.49"),  # 1.49985 -> 1.50
        ("0.10", "3", 10, D(2026, 1, 25), "0.00", "0.10"),  # nothing to take off a dime
    ],
)
def test_early_payment_discounts(total, percent, days, pay_by, discount, pay):
    result = terms.early_payment_discount(Decimal(total), D(2026, 1, 15), percent=Decimal(percent), days=days)
    assert (result.pay_by, str(result.amount), str(result.pay_amount)) == (pay_by, discount, pay)


def test_no_discount_without_a_percent():
    assert terms.early_payment_discount(Decimal("100"), D(2026, 1, 15), percent=Decimal("0"), days=10) is None


def test_discount_in_a_currency_without_cents():
    result = terms.early_payment_discount(
        Decimal("10050"), D(2026, 1, 15), percent=Decimal("2"), days=10, currency="JPY"
    )
    assert result.amount == Decimal("201") and result.pay_amount == Decimal("9849")


@pytest.mark.django_db
def test_issuing_with_broken_instalments_is_refused_with_the_reason():
    from invoicing.models import Invoice, PaymentTermsInstalment
    from invoicing.services import InvoicingError
    from tests.invoicing import factories as f
    from tests.invoicing.factories import draft_for

    f.company()
    broken = f.terms(code="BROKEN", name="Broken split")
    PaymentTermsInstalment.objects.create(terms=broken, sequence=1, percent=Decimal("60"), days=30)
    draft = draft_for(f.customer(payment_terms=broken))
    with pytest.raises(InvoicingError, match="Payment terms Broken split: The instalment percents must add up to 100"):
        from invoicing.services import issue_invoice

        issue_invoice(invoice=draft)
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (Invoice.Status.DRAFT, None)
