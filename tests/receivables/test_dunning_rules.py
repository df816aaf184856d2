"""The two money rules of dunning, as worked tables and properties: statutory interest per item
and the level an item is dunned at."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.dunning import choose_level, interest

D = Decimal


@pytest.mark.parametrize(
    ("amount", "reference", "margin", "days", "expected", "worked"),
    [
        ("1000.00", "4.000", "8.000", 30, "9.86", "1000 x 12/100 x 30/365 = 9.8630"),
        ("1000.00", "4.000", "8.000", 365, "120.00", "a full year at 12%"),
        ("250.00", "4.000", "8.000", 14, "1.15", "250 x 0.12 x 14/365 = 1.1507"),
        ("100.00", "4.000", "8.000", 1, "0.03", "100 x 0.12 / 365 = 0.0329"),
        ("10.00", "4.000", "8.000", 1, "0.00", "0.0033 rounds to nothing"),
        ("1234.56", "3.500", "8.000", 45, "17.50", "1234.56 x 0.115 x 45/365 = 17.5037"),
        ("36500.00", "0.000", "1.000", 5, "5.00", "exactly 5.00"),
        ("730.00", "2.000", "0.500", 73, "3.65", "730 x 0.025 x 73/365 = 3.65"),
        ("3650.00", "0.000", "0.050", 5, "0.03", "3650 x 0.0005 x 5/365 = 0.025 -> 0.03 (half up)"),
        ("1000.00", "4.000", "8.000", 0, "0.00", "no days, no interest"),
        ("1000.00", "4.000", "8.000", -3, "0.00", "negative days are no days"),
        ("0.00", "4.000", "8.000", 30, "0.00", "nothing open"),
    ],
)
def test_interest_table(amount, reference, margin, days, expected, worked):
    assert interest(amount=D(amount), reference_rate=D(reference), margin=D(margin), days=days) == D(expected), worked


# The machine is shared: a slow moment must not fail a money rule.
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
    reference=st.decimals(min_value=D("0"), max_value=D("15"), places=3),
    margin=st.decimals(min_value=D("0"), max_value=D("15"), places=3),
    days=st.integers(min_value=1, max_value=2000),
)
def test_interest_is_the_exact_formula_rounded_half_up_once(amount, reference, margin, days):
    result = interest(amount=amount, reference_rate=reference, margin=margin, days=days)
    exact = amount * (reference + margin) / 100 * days / 365
    assert result == exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert abs(result - exact) <= D("0.005")
    assert result.as_tuple().exponent == -2
    more = interest(amount=amount, reference_rate=reference, margin=margin, days=days + 1)
    assert more >= result  # a day more never costs less


LADDER = [(1, 7), (2, 21), (3, 45), (4, 75)]


@pytest.mark.parametrize(
    ("days", "last", "expected"),
    [
        (0, None, None),
        (6, None, None),
        (7, None, 1),
        (20, None, 1),
        (20, 1, None),  # not dunned twice at the same level
        (21, 1, 2),
        (21, None, 2),  # first seen late: straight to level 2
        (44, 2, None),
        (45, 2, 3),
        (100, 2, 4),  # jumps to the highest level reached
        (100, 4, None),  # nothing above the last level
        (74, 3, None),
        (75, 3, 4),
        (30, 3, None),  # dunned higher before (e.g. by a procedure change): never goes down
    ],
)
def test_level_table(days, last, expected):
    assert choose_level(days_overdue=days, levels=LADDER, last_level=last) == expected


@RELAXED
@given(
    thresholds=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=6, unique=True),
    days=st.integers(min_value=0, max_value=400),
    last=st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
)
def test_level_is_the_highest_reached_and_above_the_last(thresholds, days, last):
    levels = [(number, threshold) for number, threshold in enumerate(sorted(thresholds), start=1)]
    chosen = choose_level(days_overdue=days, levels=levels, last_level=last)
    reached = [number for number, threshold in levels if days >= threshold]
    if chosen is None:
        assert not reached or (last is not None and max(reached) <= last)
    else:
        assert chosen == max(reached)
        assert last is None or chosen > last
