"""Runs a folder's table of expected outcomes: every sample file appears once."""

from decimal import Decimal

import pytest

from receivables.models import BankStatement, StatementLine
from receivables.statements import StatementFileError

from .helpers import TESTDATA, import_sample


def every_sample(folder: str) -> set[str]:
    return {
        str(path.relative_to(TESTDATA))
        for path in (TESTDATA / folder).rglob("*")
        if path.is_file() and "LICENSE" not in path.name
    }


def check(relative: str, expected: tuple, **kwargs) -> None:
    """expected = ("ok", statements, lines, sum, first opening, last closing) or ("refused", text)."""
    if expected[0] == "refused":
        with pytest.raises(StatementFileError) as refused:
            import_sample(relative, **kwargs)
        assert expected[1] in refused.value.message
        assert not BankStatement.objects.exists()
        assert not StatementLine.objects.exists()
        return
    _, statements, lines, total, opening, closing = expected
    account, (result, summary) = import_sample(relative, **kwargs)
    assert len(result.statements) == statements
    stored = StatementLine.objects.filter(bank_account=account)
    assert stored.count() == lines == result.lines_added
    assert sum((line.amount for line in stored), Decimal("0")) == Decimal(total)
    first, last = result.statements[0], result.statements[-1]
    assert first.opening_balance == (Decimal(opening) if opening is not None else None)
    assert last.closing_balance == (Decimal(closing) if closing is not None else None)
    assert summary.lines == lines
    # the same file again adds nothing
    _, (again, _) = import_sample(relative, **kwargs)
    assert again.lines_added == 0 and again.already_imported == statements
    assert StatementLine.objects.filter(bank_account=account).count() == lines
