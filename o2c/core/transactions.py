"""Transactions of services and flow steps: a savepoint only where something can roll back to it.

A nested `transaction.atomic()` costs a SAVEPOINT and a RELEASE on every call, and it is needed
only when the caller catches an error from inside the block and carries on. The flow's steps
(o2c/flow.py) never do: an error anywhere in a step ends the step, which rolls back as a whole.
So inside a step, services run without savepoints of their own (an error marks the step for
rollback, as `transaction.atomic(savepoint=False)` does); called from anywhere else - a view, a
task, a test that expects an error and then looks at the database - they keep them.

Code inside a step that catches a database error and goes on opens its own plain
`transaction.atomic()` around what it tries (numbering._create_series and
receivables.record_payment do); a plain block always has its savepoint.
"""

from django.db import DEFAULT_DB_ALIAS
from django.db.transaction import Atomic, get_connection


class _Atomic(Atomic):
    def __init__(self, *, is_flow_step: bool):
        super().__init__(DEFAULT_DB_ALIAS, savepoint=True, durable=False)
        self.is_flow_step = is_flow_step

    def _recreate_cm(self):
        # A fresh block for each call of a decorated function: __enter__ sets `savepoint` on it.
        return _Atomic(is_flow_step=self.is_flow_step)

    def __enter__(self):
        self.savepoint = not in_flow_step()
        super().__enter__()


def in_flow_step() -> bool:
    """True inside a flow step: an error there rolls the whole step back."""
    return any(getattr(block, "is_flow_step", False) for block in get_connection(DEFAULT_DB_ALIAS).atomic_blocks)


def atomic(func=None):
    """transaction.atomic for a service: `@atomic` or `with atomic():`. No savepoint inside a
    flow step (see the module docstring); otherwise exactly transaction.atomic."""
    block = _Atomic(is_flow_step=False)
    return block(func) if callable(func) else block


def flow_step(func):
    """A flow function's transaction: a savepoint of its own when a caller's transaction is
    open (the caller may catch the step's error and go on, as import_orders does), and none for
    the services and steps it calls."""
    return _Atomic(is_flow_step=True)(func)
