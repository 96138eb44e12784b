"""Default shares in a Pulumi program: settled after the program body, rendered as Outputs.

A component whose consumer omits ``connections=`` books a pending share
(:meth:`~deploy_paradigms.budget.ledger.ConnectionLedger.book`); its share-dependent
inputs (reserved concurrency, proxy percents, pool variables, alarm thresholds) are
``pulumi.Output``\\ s of :func:`settled`, resolved when the program's
:class:`~deploy_paradigms.budget.deployment.Deployment` settles. The program body runs
synchronously, so :func:`schedule_settlement` settles on the event loop's next turn, once
the body has declared every consumer; a budget error then fails every resource waiting
on a share, so ``pulumi up`` / ``preview`` fail with the message. ``deployment().settle()``
settles earlier, on purpose (later default shares are then refused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import pulumi

from ..budget.deployment import Deployment
from ..budget.errors import InputError
from ..budget.ledger import Booking

__all__ = ["budget_error_in", "schedule_settlement", "settled"]

PlanT = TypeVar("PlanT")
T = TypeVar("T")

#: The futures of every Output waiting for a deployment's settlement (failed on a budget error).
_WAITING: dict[int, list[asyncio.Future[Any]]] = {}


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def schedule_settlement(program: Deployment) -> Callable[[], None]:
    """The deployment's ``schedule`` hook: settle on the event loop's next turn."""
    def settle() -> None:
        waiting = _WAITING.pop(id(program), [])
        try:
            program.settle("after the program body")
        except InputError as err:
            for future in waiting:
                if not future.done():
                    future.set_exception(err)
            return

    def schedule() -> None:
        _loop().call_soon(settle)

    return schedule


PlanT_co = TypeVar("PlanT_co", covariant=True)


class Settling(Protocol[PlanT_co]):
    """A share whose plan may settle late: a ledger :class:`Booking`, or a function's booking."""

    @property
    def settled(self) -> bool: ...

    @property
    def plan(self) -> PlanT_co: ...

    def when_settled(self, listener: Callable[[PlanT_co], None]) -> None: ...


def settled(booking: Booking[PlanT] | Settling[PlanT], program: Deployment,
            pick: Callable[[PlanT], T]) -> pulumi.Output[T]:
    """``pick(plan)`` of ``booking``'s final plan, as an Output: known at once for ``connections=``,
    else when ``program`` settles (a budget error then fails the Output with its message)."""
    if booking.settled:
        return pulumi.Output.from_input(pick(booking.plan))
    loop = _loop()
    value: asyncio.Future[T] = loop.create_future()
    known: asyncio.Future[bool] = loop.create_future()
    secret: asyncio.Future[bool] = loop.create_future()
    known.set_result(True)
    secret.set_result(False)

    def resolve(plan: PlanT) -> None:
        if not value.done():
            value.set_result(pick(plan))

    booking.when_settled(resolve)
    _WAITING.setdefault(id(program), []).append(value)
    return pulumi.Output(set(), value, known, secret)


def budget_error_in(error: BaseException) -> InputError | None:
    """The InputError (a BudgetError, say) a failed Pulumi run wraps: a settlement error reaches
    the engine as the ``ValueError`` of each resource that waited for the share ("While processing
    resource ...")."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, InputError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
