"""Plain value objects handed to plugins, so no plugin depends on the database models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


class CalendarUnavailable(Exception):
    """A calendar backend could not be reached or read."""


@dataclass(frozen=True)
class BusyInterval:
    start: datetime
    end: datetime
    counter: int | None = None  # None: the whole office is busy
    summary: str = ""


@dataclass(frozen=True)
class Meeting:
    citizen_url: str
    staff_url: str
    room: str


@dataclass(frozen=True)
class AppointmentView:
    """An appointment as plugins see it; personal fields are None once anonymised."""

    id: int
    reference: str
    service: str
    office: str
    start: datetime
    end: datetime
    mode: str
    status: str
    channel: str
    sender: str | None
    language: str
    counter: int
    citizen_name: str | None
    phone: str | None
    email: str | None
    video_url: str | None
    created_at: datetime
    updated_at: datetime
    # Why staff booked it outside the opening hours, on a closure or a holiday (staff text).
    override_reason: str | None = None
    # The personal data has been deleted (retention): the fields above hold none any more.
    anonymized: bool = False

    @property
    def display_reference(self) -> str:
        return f"{self.reference[:3]}-{self.reference[3:]}"

    def to_api(self, include_personal: bool = True) -> dict[str, Any]:
        """The staff API's JSON; without `include_personal` (for the citizen's own channel)
        no phone, e-mail or staff override reason."""
        citizen: dict[str, Any] = {"name": self.citizen_name}
        if include_personal:
            citizen.update(phone=self.phone, email=self.email)
        staff = {"override_reason": self.override_reason} if include_personal else {}
        return {
            "reference": self.display_reference,
            "service": self.service,
            "office": self.office,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "mode": self.mode,
            "status": self.status,
            "channel": self.channel,
            "language": self.language,
            "video_url": self.video_url,
            "citizen": citizen if include_personal else {"name": self.citizen_name},
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            **staff,
        }
