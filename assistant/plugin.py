"""The plugin API: everything channels, plugins and conversation flows may use of the core.

Code in `actions/` (conversation flows), `channels/` and `plugins/` imports the core only
from here::

    from assistant.plugin import Context, Incoming, Reply, hookimpl, t

and never from `assistant.<anything else>`; the core in turn imports none of them. A test
(tests/test_import_rules.py) enforces both directions, so the core can be reorganised behind
this module without breaking a plugin. A name missing here is a change to this module, not
a reason to reach past it.

What is here
------------
Hooks
    `hookimpl` marks a plugin's hook implementations; the hooks themselves are specified in
    assistant/hookspecs.py (docs/plugin-hooks.md describes them).
The context
    `Context` is handed to every hook: configuration, database sessions, the plugin manager,
    `ctx.now()`, plugin settings and state. A command-line entry point gets one from
    `async with command_context(config) as ctx:`.
Messages
    `Incoming` is what a channel hands to the dialogue; `Reply` (with `Button`\\s) is what
    comes back for the channel to render.
Configuration
    `Config`, `Office`, `Service` (read-only models of config.yml), `ConfigError` to reject a
    bad plugin section, `load_config` for command-line entry points, `require_env` for
    secrets read from the environment.
Value objects
    `AppointmentView` (an appointment as plugins see it), `BusyInterval` and
    `CalendarUnavailable` for calendar backends, `Meeting` for video plugins.
Booking services
    The modules `availability` (free slots, offers), `book` (hold, confirm, book now),
    `reschedule` (move), `cancel`, `check` (look up with proof of identity) and `escalate`
    (video meeting, staff request); `Origin` and `Citizen` say who acts and for whom.
    `validation` checks a start the way the booking services do (`validate_start`);
    `book.book_now` raises `InvalidStart` (`code`, `message`) for a start that cannot be
    booked, and a `StaffOverride` (with a reason) lets staff book outside opening hours.
    `references` reads and formats reference codes; `to_view` turns a stored appointment into
    an `AppointmentView`.
Conversation flows
    `Flow` (subclass it; register with the `register_flows` hook), `Talk` (one turn: `say`,
    `button`, `task`, `task_as`, `facts`, `learn`), the typed state: each flow's own model
    (`Flow.state_model`) built from the base `Task` and the parts `SlotTask` (choosing a
    slot), `PersonTask` (name, contact), `LookupTask` (finding an appointment), with
    `Contact`, `SlotRef`,
    `Understanding` (what a message means), `advance` (let the task's flow ask its next
    question); the building blocks `blocks` (buttons, the wish, offering and taking a slot,
    identifying an appointment), `steps` (the shared questions: slot, name, contact, summary,
    reference, last name) and `answers` (readers of answers inside sentences);
    `holiday_name` for a public holiday.
Language
    `t` (a catalogue text), `has`, `catalog`, `LANGUAGES`, `BABEL_LOCALE`, and the date
    formats `when`, `day`, `clock`; `normalize_spoken` for speech-to-text input. A plugin's
    own texts are `.po` files beside it (`locales/<name>.de.po`, `locales/<name>.en.po`) that
    its `message_catalogs` hook returns; `t` finds them while the plugin is enabled.
HTTP and calendars
    `json_error` for webhook answers; `read_json` / `loads_json` read JSON from clients
    (depth-limited, lone surrogates refused; anything bad raises `BadJSON`); `RateLimiter`
    for per-sender limits; `client_gate` (the client's address behind trusted proxies,
    kiosk terminals, per-client and global limits; a `Client`) and `too_many_requests`
    (429 with Retry-After); the iCalendar builders `appointment_event`, `calendar_of`,
    `event_uid` and `is_own_uid`.

Testing a plugin
----------------
Tests use the test kit `assistant.testing` (not this module), which pytest loads with
Amtsbote: the fixture `amtsbote` is the real application (throwaway database, movable clock
`amtsbote.clock`, `say`, `http()`, `run_outbox_now()`) with the plugins your fixture
`amtsbote_plugins` returns; `scripted_rasa.script` says what Rasa's stand-in answers to which
text. Real peers (SMTP, CalDAV, PostgreSQL, Synapse, Chromium, Rasa) are opt-in:
`pytest_plugins = ["assistant.testing.peers.smtp"]`. Example: tests/test_test_kit.py.

For now, not yet behind a service
---------------------------------
A few built-in plugins still reach into the core beyond the services above: `Appointment`
(the stored model, read by the appointment page and the calendar cache) and the retention
policy behind `amtsbote retention` (`Policy`, `Report`, `purge`). They are exported so the
import rule holds; third-party plugins should not rely on them, they are meant to move
behind services.
"""

from __future__ import annotations

from assistant.booking import (
    availability,
    book,
    cancel,
    check,
    escalate,
    references,
    reschedule,
    validation,
)
from assistant.booking.appointments import to_view
from assistant.booking.book import Citizen, Origin
from assistant.booking.slots import holiday_name
from assistant.booking.validation import InvalidStart, StaffOverride
from assistant.config import (
    Config,
    ConfigError,
    FaqEntry,
    Office,
    Service,
    load_config,
    require_env,
)
from assistant.context import Context, command_context
from assistant.dialogue import answers, blocks, steps
from assistant.dialogue.flow import Flow, advance
from assistant.dialogue.talk import Talk
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotRef, SlotTask, Task
from assistant.dialogue.understanding import Understanding
from assistant.hookspecs import hookimpl
from assistant.http.common import (
    BadJSON,
    Client,
    client_gate,
    json_error,
    loads_json,
    read_json,
    too_many_requests,
)
from assistant.http.ics_feed import appointment_event, calendar_of, event_uid, is_own_uid
from assistant.i18n import BABEL_LOCALE, LANGUAGES, catalog, clock, day, has, t, when
from assistant.messages import Button, Incoming, Reply
from assistant.nlu.spoken import normalize_spoken
from assistant.ratelimit import RateLimiter
from assistant.retention import Policy, Report, purge
from assistant.storage.models import Appointment
from assistant.views import AppointmentView, BusyInterval, CalendarUnavailable, Meeting

__all__ = [
    "BABEL_LOCALE",
    "LANGUAGES",
    "Appointment",
    "AppointmentView",
    "BadJSON",
    "BusyInterval",
    "Button",
    "CalendarUnavailable",
    "Citizen",
    "Client",
    "Config",
    "ConfigError",
    "Contact",
    "Context",
    "FaqEntry",
    "Flow",
    "Incoming",
    "InvalidStart",
    "LookupTask",
    "Meeting",
    "Office",
    "Origin",
    "PersonTask",
    "Policy",
    "RateLimiter",
    "Reply",
    "Report",
    "Service",
    "SlotRef",
    "SlotTask",
    "StaffOverride",
    "Talk",
    "Task",
    "Understanding",
    "advance",
    "answers",
    "appointment_event",
    "availability",
    "blocks",
    "book",
    "calendar_of",
    "cancel",
    "catalog",
    "check",
    "client_gate",
    "clock",
    "command_context",
    "day",
    "escalate",
    "event_uid",
    "has",
    "holiday_name",
    "hookimpl",
    "is_own_uid",
    "json_error",
    "load_config",
    "loads_json",
    "normalize_spoken",
    "purge",
    "read_json",
    "references",
    "require_env",
    "reschedule",
    "steps",
    "t",
    "to_view",
    "too_many_requests",
    "validation",
    "when",
]
