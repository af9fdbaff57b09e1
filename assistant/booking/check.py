"""Check: find an appointment by reference plus proof of identity, throttling guessers.

Wrong reference/last-name pairs are counted per sender, per reference code, per client (IP
address, kiosk terminal or caller, see `assistant.ratelimit.requester`) and in all, within
`booking.verification_window_minutes`. Once any of them reaches its limit every look-up it
covers is refused for the rest of the window, the right name included: a client that takes a
new sender id for each guess still runs into the reference's and its address's limits. The
moment a limit is reached is recorded as an event (`lockout_reference`, ...), without the
reference, the name or the address.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from assistant import stats
from assistant.booking.appointments import find_verified, to_view
from assistant.ratelimit import requester
from assistant.storage.models import VerificationFailure
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from assistant.booking.book import Origin
    from assistant.context import Context

log = logging.getLogger(__name__)

# Look-ups of the same reference wait for each other (per event loop), so that concurrent
# guesses cannot all pass the count before any of them is recorded.
_STRIPES = 64
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


@dataclass(frozen=True)
class Lookup:
    appointment: AppointmentView | None
    throttled: bool = False


def _canonical(reference: str) -> str:
    return reference.replace("-", "").replace(" ", "").upper()


def _hashed(kind: str, value: str) -> str:
    """A counter key that does not keep the reference or address in clear."""
    return f"{kind}:" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def counter_keys(ctx: Context, reference: str, origin: Origin) -> dict[str, tuple[str, int]]:
    """scope -> (key in verification_failures, limit) for one look-up."""
    server, booking = ctx.config.server, ctx.config.booking
    keys = {
        "sender": (f"{origin.channel}:{origin.sender}", booking.max_verification_failures),
        "reference": (_hashed("ref", _canonical(reference)),
                      server.verification_failures_per_reference),
        "global": ("*", server.verification_failures_global),
    }
    who = requester()
    if who:
        keys["client"] = (_hashed("client", who), server.verification_failures_per_client)
    return {scope: (key, limit) for scope, (key, limit) in keys.items() if limit > 0}


async def _counts(session: AsyncSession, keys: list[str], since) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = await session.execute(
        select(VerificationFailure.sender_key, func.count())
        .where(VerificationFailure.sender_key.in_(keys), VerificationFailure.at >= since)
        .group_by(VerificationFailure.sender_key))
    return {key: int(n) for key, n in rows.all()}


def _lock(reference: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    stripes = _locks.get(loop)
    if stripes is None:
        stripes = _locks[loop] = [asyncio.Lock() for _ in range(_STRIPES)]
    return stripes[int(hashlib.sha256(_canonical(reference).encode()).hexdigest(), 16) % _STRIPES]


async def lookup(
    ctx: Context,
    reference: str,
    proof: str | None,
    origin: Origin,
    verified_contact: str | None = None,
    log_check: bool = False,
) -> Lookup:
    """The appointment when reference and proof match. Failures count per sender, reference,
    client and in all; past a limit every attempt it covers is refused for a while, right or
    wrong."""
    now = ctx.now()
    since = now - timedelta(minutes=ctx.config.booking.verification_window_minutes)
    keys = counter_keys(ctx, reference, origin)
    async with _lock(reference), ctx.db() as session:
        if ctx.engine.dialect.name == "postgresql":  # the same across worker processes
            digest = hashlib.sha256(f"verify:{_canonical(reference)}".encode()).digest()
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                  {"k": int.from_bytes(digest[:8], "big", signed=True)})
        counts = await _counts(session, [k for k, _ in keys.values()], since)
        over = [scope for scope, (key, limit) in keys.items() if counts.get(key, 0) >= limit]
        if over:
            log.info("verification refused on %s: %s limit reached", origin.channel,
                     ", ".join(sorted(over)))
            return Lookup(None, throttled=True)
        found = await find_verified(session, reference, proof, verified_contact)
        if found is None:
            for scope, (key, limit) in keys.items():
                session.add(VerificationFailure(sender_key=key, at=now))
                if counts.get(key, 0) + 1 == limit:
                    log.warning("verification locked on %s: %s limit of %d failures reached",
                                origin.channel, scope, limit)
                    stats.record(session, f"lockout_{scope}", now=now, channel=origin.channel,
                                 language=origin.language, actor=origin.actor)
        elif log_check:
            stats.record(session, "checked", now=now, channel=origin.channel,
                         language=origin.language, office_id=found.office_id,
                         service_id=found.service_id, turns=origin.turns,
                         conversation_seconds=origin.seconds, actor=origin.actor)
        await session.commit()
        return Lookup(to_view(found) if found else None)
