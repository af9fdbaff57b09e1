"""The event log behind the county's two success figures.

1. Share of bookings, changes and cancellations done through Amtsbote: events with
   actor `citizen` against all (staff record the ones they do by hand through the API).
2. Minutes a booking costs: the citizen's conversation time and the clerk's handling time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.db import insert_rows
from assistant.storage.models import Event

ACTIONS = ("booked", "rescheduled", "cancelled")


def event(
    kind: str,
    *,
    now: datetime,
    channel: str,
    language: str | None = None,
    office_id: str | None = None,
    service_id: str | None = None,
    turns: int | None = None,
    conversation_seconds: int | None = None,
    staff_seconds: int | None = None,
    actor: str = "citizen",
) -> dict[str, Any]:
    """One row of the event log."""
    return {"at": now, "kind": kind, "actor": actor, "channel": channel, "language": language,
            "office_id": office_id, "service_id": service_id, "turns": turns,
            "conversation_seconds": conversation_seconds, "staff_seconds": staff_seconds}


def record(session: AsyncSession, kind: str, *, now: datetime, channel: str,
           **fields: Any) -> None:
    """Add an event to the session (fields as for `event`); written with the next flush."""
    session.add(Event(**event(kind, now=now, channel=channel, **fields)))


async def write(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Write `event` rows at once, with one statement (no ORM flush)."""
    await insert_rows(session, Event.__table__, events)


async def summary(session: AsyncSession, frm: datetime, to: datetime) -> dict[str, Any]:
    rows = (
        await session.execute(
            select(
                Event.kind,
                Event.actor,
                Event.channel,
                func.count(),
                func.avg(Event.conversation_seconds),
                func.avg(Event.turns),
                func.avg(Event.staff_seconds),
            )
            .where(Event.at >= frm, Event.at < to)
            .group_by(Event.kind, Event.actor, Event.channel)
        )
    ).all()
    by_kind: dict[str, dict[str, Any]] = {}
    for kind, actor, channel, count, avg_secs, avg_turns, avg_staff in rows:
        entry = by_kind.setdefault(
            kind, {"total": 0, "via_amtsbote": 0, "by_channel": {}, "_secs": [], "_staff": []}
        )
        entry["total"] += count
        if actor == "citizen":
            entry["via_amtsbote"] += count
            entry["by_channel"][channel] = entry["by_channel"].get(channel, 0) + count
        if avg_secs is not None:
            entry["_secs"].append((float(avg_secs), count, float(avg_turns or 0)))
        if avg_staff is not None:
            entry["_staff"].append((float(avg_staff), count))
    out: dict[str, Any] = {"from": frm.isoformat(), "to": to.isoformat(), "kinds": {}}
    for kind, e in by_kind.items():
        n_secs = sum(c for _, c, _ in e["_secs"])
        n_staff = sum(c for _, c in e["_staff"])
        out["kinds"][kind] = {
            "total": e["total"],
            "via_amtsbote": e["via_amtsbote"],
            "share_via_amtsbote": round(e["via_amtsbote"] / e["total"], 3) if e["total"] else None,
            "by_channel": e["by_channel"],
            "citizen_minutes_avg": round(sum(s * c for s, c, _ in e["_secs"]) / n_secs / 60, 2)
            if n_secs else None,
            "turns_avg": round(sum(t * c for _, c, t in e["_secs"]) / n_secs, 1)
            if n_secs else None,
            "clerk_minutes_avg": round(sum(s * c for s, c in e["_staff"]) / n_staff / 60, 2)
            if n_staff else None,
        }
    acts = [out["kinds"][k] for k in ACTIONS if k in out["kinds"]]
    total = sum(k["total"] for k in acts)
    out["share_of_actions_via_amtsbote"] = (
        round(sum(k["via_amtsbote"] for k in acts) / total, 3) if total else None
    )
    return out
