"""The built-in calendar: the database alone. No external busy times, nothing to write."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.plugin import hookimpl

if TYPE_CHECKING:
    from assistant.plugin import AppointmentView, Context, Office

NAME = "builtin"


async def _nothing() -> list[Any]:
    return []


@hookimpl
def calendar_busy(ctx: Context, backend: str, office: Office, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return _nothing() if backend == NAME else None


def _write(backend: str):  # type: ignore[no-untyped-def]
    return _nothing() if backend == NAME else None


@hookimpl
def calendar_create_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _write(backend)


@hookimpl
def calendar_update_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _write(backend)


@hookimpl
def calendar_delete_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _write(backend)
