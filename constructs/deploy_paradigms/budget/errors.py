"""Errors raised by the connection-budget core.

Every error names the input that was wrong, its value, the limit it broke and
how to fix it, so a synth failure reads as an instruction rather than a trace.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input the library refuses (a misspelled config key, a value of the wrong kind).

    The base of every refusal, so callers catch one type; :class:`BudgetError` is the
    subset about the connection budget.
    """


class BudgetError(InputError):
    """An input that would produce a deployment able to exhaust (or misuse) the database."""


class UnknownEngineError(BudgetError):
    """The engine name is not one the limits table knows."""


class UnknownInstanceClassError(BudgetError):
    """The instance class is not in the limits table for this engine."""


class BudgetExceededError(BudgetError):
    """Allocations on one database add up to more than its connection budget."""
