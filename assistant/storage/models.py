"""Database tables. Times are stored in UTC; `UTCDateTime` hands back aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(6), unique=True)
    office_id: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    counter: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), default="in_person")  # in_person | video
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked | cancelled
    channel: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str | None] = mapped_column(String(255))  # channel address for reminders
    language: Mapped[str] = mapped_column(String(2), default="de")
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200))  # folded last name, for checks
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    video_url: Mapped[str | None] = mapped_column(Text)
    staff_video_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    anonymized_at: Mapped[datetime | None]
    # Why staff booked it outside the opening hours, on a closure or a holiday (staff text:
    # shown to staff only, never logged; cleared with the personal data).
    override_reason: Mapped[str | None] = mapped_column(String(500))
    # The visit, marked by staff in the back office (assistant/staff/visits.py): booked ->
    # arrived -> in progress -> done, or no-show. `status` stays the booking's own state
    # (booked | cancelled); the visit state is read from these times.
    arrived_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    no_show_at: Mapped[datetime | None]


class Occupancy(Base):
    """One 5-minute cell of one counter, taken by an appointment or by a short hold.

    The unique constraint is what makes double bookings impossible: two transactions that
    try to take the same cell cannot both commit, on SQLite or PostgreSQL.
    """

    __tablename__ = "occupancy"
    __table_args__ = (UniqueConstraint("office_id", "counter", "cell"),
                      Index("ix_occupancy_office_id_cell", "office_id", "cell"))

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64))
    counter: Mapped[int] = mapped_column(Integer)
    cell: Mapped[datetime]
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    hold: Mapped[str | None] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    sender: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class Event(Base):
    """The statistics log: what happened, through which channel, and what it cost in time.

    No personal data: no name, contact or reference; `conversation_seconds` and `turns` are
    the citizen's cost, `staff_seconds` the clerk's (video calls, manual bookings).
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))  # booked, rescheduled, cancelled, checked, ...
    actor: Mapped[str] = mapped_column(String(16), default="citizen")  # citizen | staff
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(2))
    office_id: Mapped[str | None] = mapped_column(String(64))
    service_id: Mapped[str | None] = mapped_column(String(64))
    turns: Mapped[int | None] = mapped_column(Integer)
    conversation_seconds: Mapped[int | None] = mapped_column(Integer)
    staff_seconds: Mapped[int | None] = mapped_column(Integer)


class VerificationFailure(Base):
    """A wrong reference/name pair, counted per sender to throttle guessing."""

    __tablename__ = "verification_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime]


class Delivery(Base):
    """Webhook deliveries already handled (Telegram update_id, Twilio MessageSid ...)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("channel", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(255))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime]


class VideoRequest(Base):
    """A citizen waiting for staff in a video meeting now (no personal data).

    `conversation_key` and `contact_key` (hashes of the conversation and of the contact: the
    call-back number, client address, kiosk or caller) let a repeated request be merged into
    the waiting one; they are cleared once the de-duplication window has passed.
    """

    __tablename__ = "video_requests"
    __table_args__ = (Index("ix_video_requests_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str | None] = mapped_column(String(64))
    service_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="video")  # video | human | callback
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | taken | done
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))
    citizen_url: Mapped[str | None] = mapped_column(Text)
    staff_url: Mapped[str | None] = mapped_column(Text)
    callback_number: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    taken_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    conversation_key: Mapped[str | None] = mapped_column(String(64))
    contact_key: Mapped[str | None] = mapped_column(String(64))


class OutboxItem(Base):
    """Work done after the request: calendar writes, mails, reminders, SMS. Survives restarts.

    `key` makes enqueueing idempotent; `due_at` schedules (reminders); a worker claims an item
    by moving `locked_until` forward in one UPDATE, so several workers never run it twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PluginState(Base):
    """Small persistent values for plugins: sync tokens, update offsets, ETags, device ids."""

    __tablename__ = "plugin_state"

    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class FeedToken(Base):
    """A read-only token for one office's staff calendar feed (`amtsbote feed-token`).

    Only the token's SHA-256 is stored (the token is shown once, at creation), so each one
    can be listed and revoked on its own without touching AMTSBOTE_API_TOKEN.
    """

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A staff API request's `Idempotency-Key` and the answer it got (assistant/idempotency.py).

    `principal` is a hash of the staff token, `request` a hash of method, path and body; the
    stored answer may hold personal data (a booking's name), so the row goes at `expires_at`
    or after `retention.personal_data_days` at the latest (assistant/retention.py)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class StaffUser(Base):
    """A back-office account (`amtsbote staff add`): an argon2 hash, never the password.

    `username` is stored case-folded; `offices` lists the office ids a clerk or office admin
    works for (a county admin sees every office)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # clerk | office_admin | county_admin
    role: Mapped[str] = mapped_column(String(16), default="clerk")
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class StaffSession(Base):
    """A logged-in browser. Only the SHA-256 of the session id (the cookie) is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"),
                                         index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class StaffLoginFailure(Base):
    """A failed staff login, counted per user name and per client address (both hashed) to
    throttle guessing across workers."""

    __tablename__ = "staff_login_failures"
    __table_args__ = (Index("ix_staff_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class AuditEntry(Base):
    """Who viewed or changed which appointment, and when: ids only, no personal data."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_appointment_id_at", "appointment_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32))  # view, arrived, started, done, no_show ...
    appointment_id: Mapped[int | None] = mapped_column(Integer)
    # Booked, moved or cancelled on behalf: the clerk's time from opening the form to saving.
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class StaffClosure(Base):
    """A closure or absence entered in the back office: the office (or one counter of it) is
    closed in [start, end); `reason` is shown to the citizens it affects. No new booking can
    land in it (`assistant.booking.closures`); booked appointments stay until moved."""

    __tablename__ = "staff_closures"
    __table_args__ = (Index("ix_staff_closures_office_id_start", "office_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64))
    counter: Mapped[int | None] = mapped_column(Integer)  # None: the whole office
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
