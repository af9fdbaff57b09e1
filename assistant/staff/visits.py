"""The visit, marked by staff with one click each: booked → arrived → in progress → done, or
no-show (a booked appointment nobody came to). Each step stores its time (`ctx.now()`) on the
appointment and one audit row; arrival → done is the service time, no-shows give the no-show
rate. The booking's own `status` (booked | cancelled) is left as it is, so everything that
reads it (slot search, the citizen's page, the calendar) works as before; a cancelled
appointment takes no steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.staff import audit
from assistant.storage.models import Appointment

STATES = ("booked", "arrived", "in_progress", "done", "no_show", "cancelled")
# step -> (the column it sets, the states it may follow)
STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "arrived": ("arrived_at", ("booked",)),
    "started": ("started_at", ("arrived",)),
    "done": ("done_at", ("arrived", "in_progress")),
    "no_show": ("no_show_at", ("booked",)),
}
REACHED = {"arrived": "arrived", "started": "in_progress", "done": "done", "no_show": "no_show"}


def state(a: Appointment) -> str:
    if a.status == "cancelled":
        return "cancelled"
    if a.no_show_at is not None:
        return "no_show"
    if a.done_at is not None:
        return "done"
    if a.started_at is not None:
        return "in_progress"
    if a.arrived_at is not None:
        return "arrived"
    return "booked"


def next_steps(a: Appointment) -> list[str]:
    """The steps that may follow now, in the order the buttons show them."""
    current = state(a)
    return [step for step, (_, after) in STEPS.items() if current in after]


@dataclass(frozen=True)
class Outcome:
    changed: bool
    state: str


async def mark(db: AsyncSession, a: Appointment, step: str, user_id: int,
               now: datetime) -> Outcome:
    """Take `step` for `a` (the caller commits). A step already taken (a second click) changes
    nothing and is no error; a step that cannot follow the current state is not taken."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    column, after = STEPS[step]
    current = state(a)
    if current == REACHED[step] or (getattr(a, column) is not None and current != "cancelled"):
        return Outcome(False, current)
    if current not in after:
        return Outcome(False, current)
    conditions = [Appointment.id == a.id, Appointment.status == "booked",
                  getattr(Appointment, column).is_(None), Appointment.no_show_at.is_(None),
                  Appointment.done_at.is_(None)]
    done = await db.execute(update(Appointment).where(*conditions).values({column: now})
                            .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # another clerk was quicker
        await db.refresh(a)
        return Outcome(False, state(a))
    setattr(a, column, now)
    await audit.record(db, user_id, step, [a.id], now)
    return Outcome(True, state(a))
