"""The e-mail tests' configuration (tests/configs/email.yml) and a booking made without a chat."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from assistant.booking import book as booking
from assistant.booking.availability import free_slots
from assistant.testing import Harness
from assistant.values import AppointmentView

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "email.yml"
ANNA = "anna.mueller@example.org"


async def book(h: Harness, *, email: str | None = ANNA, name: str = "Anna Müller",
               lang: str = "de", service: str = "personalausweis", office: str = "riesa",
               days: int = 2, phone: str | None = None) -> AppointmentView:
    """The first free slot from `days` ahead, booked for `name` with `email`."""
    frm = h.ctx.now() + timedelta(days=days)
    slot = (await free_slots(h.ctx, service, office, frm, frm + timedelta(days=14), limit=1))[0]
    view = await booking.book_now(
        h.ctx, service_id=service, office_id=office, start=slot.start,
        citizen=booking.Citizen(name, phone, email), origin=booking.Origin("test", "anna", lang))
    assert view is not None
    return view


def body(msg: EmailMessage, subtype: str = "plain") -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def link_path(msg: EmailMessage) -> str:
    """The path of the personal link (/termin/…) in the mail."""
    url = re.search(r"https://termine\.kreis-meissen\.example/termin/\S+", body(msg))
    assert url, "no personal link in the mail"
    return urlsplit(url.group(0)).path
