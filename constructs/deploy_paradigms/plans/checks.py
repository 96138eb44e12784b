"""Checks on enumerated inputs, shared by the CDK and Pulumi constructs (framework-free).

Each check raises :class:`~deploy_paradigms.budget.InputError` naming the input, its value
and the values AWS accepts, at construction time, before any resource exists: a typo
such as ``architecture="sparc"`` fails here, not half-way through a deployment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ..budget import InputError

__all__ = [
    "CLOUDWATCH_RETENTION_DAYS",
    "LAMBDA_ARCHITECTURES",
    "LAMBDA_PYTHON_RUNTIMES",
    "PRICE_CLASSES",
    "SUBNET_TIERS",
    "check_choice",
    "check_log_retention",
    "check_non_empty",
]

#: The retention periods (days) CloudWatch Logs accepts (PutRetentionPolicy API reference).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                             2192, 2557, 2922, 3288, 3653)
#: Lambda's instruction-set architectures (CreateFunction ``Architectures``).
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")
#: Python runtimes Lambda supports for new functions (Lambda developer guide, "Lambda runtimes").
LAMBDA_PYTHON_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
#: CloudFront price classes (DistributionConfig ``PriceClass``).
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
#: Where a database's subnet group goes.
SUBNET_TIERS = ("isolated", "private")

_T = TypeVar("_T")


def check_choice(name: str, value: _T, allowed: Iterable[_T], *, fix: str = "") -> _T:
    """``value`` if it is one of ``allowed``; else InputError naming ``name``, the value and the choices."""
    choices = tuple(allowed)
    if isinstance(value, bool) or value not in choices:
        raise InputError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}"
                         + (f"; {fix}" if fix else ""))
    return value


def check_log_retention(name: str, value: object) -> int:
    """A CloudWatch Logs retention period in days; anything else raises InputError."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in CLOUDWATCH_RETENTION_DAYS:
        raise InputError(f"{name}={value!r} is not a CloudWatch Logs retention period; use one of "
                         f"{', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
    return value


def check_non_empty(name: str, value: object, *, example: str) -> str:
    """A non-blank string; ``""`` or whitespace raises InputError (AWS would refuse it at deploy time)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name}={value!r} must be a non-empty string, for example {example!r}")
    return value
