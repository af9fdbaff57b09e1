"""Retention: delete or anonymise personal data as soon as it is no longer needed.

What goes, and when (defaults in brackets; config.yml `retention:` and `plugins.retention:`):

- appointments: name, name key, phone, e-mail, channel address, video links and a staff
  override's reason (free text that may name the citizen) are cleared and
  `anonymized_at` set once `personal_data_days` [1] have passed since the appointment's end, or
  since its cancellation for a cancelled one. Reference, service, office and times stay (the
  counter's calendar and the statistics need them; alone they name nobody).
- video/staff requests: call-back number and meeting links, after `personal_data_days`.
- conversations (the dialogue state may hold a name or a number): deleted after
  `conversation_idle_hours` [24] without a message.
- webhook delivery records (kept to drop duplicate deliveries; may hold a reply):
  after `delivery_days` [2].
- wrong reference/name attempts: after `verification_failure_hours` [24], never inside the
  throttling window.
- finished outbox items (payloads): after `outbox_done_days` [7]; unfinished ones stay.
- staff API `Idempotency-Key`s with the answers they replay (which may name the citizen): once
  expired (`server.idempotency_key_hours` [24]), and after `personal_data_days` at the latest.
- the event log holds no personal data and stays for the statistics.

Every step is one idempotent UPDATE or DELETE, so several workers may run it at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from assistant.config import Config
from assistant.storage.models import (
    Appointment,
    Conversation,
    Delivery,
    IdempotencyKey,
    OutboxItem,
    VerificationFailure,
    VideoRequest,
)


@dataclass(frozen=True)
class Policy:
    personal_data_days: float = 1
    conversation_idle_hours: float = 24
    delivery_days: float = 2
    verification_failure_hours: float = 24
    outbox_done_days: float = 7

    @classmethod
    def from_config(cls, config: Config, **extra: Any) -> Policy:
        """The core's `retention:` section plus the retention plugin's own settings."""
        verification = max(float(extra.pop("verification_failure_hours", 24)),
                            config.booking.verification_window_minutes / 60)
        return cls(personal_data_days=config.retention.personal_data_days,
                   conversation_idle_hours=config.retention.conversation_idle_hours,
                   verification_failure_hours=verification, **extra)


@dataclass
class Report:
    """How many rows each step changed (or would change, in a dry run)."""

    appointments: int = 0
    video_requests: int = 0
    conversations: int = 0
    deliveries: int = 0
    verification_failures: int = 0
    outbox_items: int = 0
    idempotency_keys: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


PERSONAL = {"citizen_name": None, "name_key": None, "phone": None, "email": None, "sender": None,
            "video_url": None, "staff_video_url": None, "override_reason": None}
REQUEST_PERSONAL = {"callback_number": None, "citizen_url": None, "staff_url": None}


def _steps(policy: Policy, now: datetime) -> list[tuple[str, Any, ColumnElement[bool], dict]]:
    """(report field, table, condition, values to set — empty means delete) per step."""
    personal = now - timedelta(days=policy.personal_data_days)
    return [
        ("appointments", Appointment, and_(
            Appointment.anonymized_at.is_(None),
            or_(Appointment.end < personal,
                and_(Appointment.status == "cancelled", Appointment.cancelled_at < personal)),
        ), {**PERSONAL, "anonymized_at": now}),
        ("video_requests", VideoRequest, and_(
            VideoRequest.created_at < personal,
            or_(*(getattr(VideoRequest, c).is_not(None) for c in REQUEST_PERSONAL)),
        ), REQUEST_PERSONAL),
        ("conversations", Conversation,
         Conversation.updated_at < now - timedelta(hours=policy.conversation_idle_hours), {}),
        ("deliveries", Delivery, Delivery.at < now - timedelta(days=policy.delivery_days), {}),
        ("verification_failures", VerificationFailure,
         VerificationFailure.at < now - timedelta(hours=policy.verification_failure_hours), {}),
        ("outbox_items", OutboxItem, and_(
            OutboxItem.done_at.is_not(None),
            OutboxItem.done_at < now - timedelta(days=policy.outbox_done_days),
        ), {}),
        ("idempotency_keys", IdempotencyKey, or_(
            IdempotencyKey.expires_at <= now, IdempotencyKey.created_at < personal), {}),
    ]


async def purge(db: async_sessionmaker, policy: Policy, now: datetime,
                dry_run: bool = False) -> Report:
    """Apply the policy at `now` in one transaction; with `dry_run` only count."""
    report = Report()
    async with db() as session:
        for name, table, condition, values in _steps(policy, now):
            if dry_run:
                count = await session.scalar(select(func.count()).select_from(table)
                                             .where(condition))
            elif values:
                count = (await session.execute(update(table).where(condition).values(**values)
                                               .execution_options(synchronize_session=False))
                         ).rowcount
            else:
                count = (await session.execute(delete(table).where(condition)
                                               .execution_options(synchronize_session=False))
                         ).rowcount
            setattr(report, name, int(count or 0))
        await session.commit()
    return report
