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
Hooks and plugin objects
    `hookimpl` marks a plugin's hook implementations; the hooks themselves are specified in
    assistant/hookspecs.py (docs/plugin-hooks.md describes them). A plugin with settings or
    running state is a `Plugin` subclass (entry point `"package.module:ClassName"`): one
    object per application, its validated config section on `self.settings` (the class
    declares `settings_model`), its clients and tasks on `self`. Hooks are its methods.
The context
    `Context` is handed to every hook: configuration, database sessions, the plugin manager,
    `ctx.now()`, plugin settings and state. A command-line entry point gets one from
    `async with command_context(config) as ctx:`.
Messages
    `Incoming` is what a channel hands to the dialogue; `Reply` (with `Button`\\s) is what
    comes back for the channel to render; a `Button`'s meaning is typed (`intent`, `command`,
    `args`, `choice`). Text-only channels share a kit: `NumberedOptions`, `offered_buttons`,
    `listed_in_text`, `TextVariants` (a channel's own wording: SMS length, speech), `flat`,
    `reference_of`, `display_reference` and the SMS length (`gsm_safe`, `is_gsm7`,
    `segments`, `fitting`); channels over Twilio `signed_form`, `twiml_response`, `e164`,
    `is_mobile`, `national`, `number_key`, `opted_out`, `set_opt_out`, `converse`.
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
    `references` reads and formats reference codes; `appointments.by_id` reads one
    appointment as an `AppointmentView` (`to_view` turns a stored one into it).
Conversation flows
    `Flow` (subclass it; register with the `register_flows` hook), `Turn` (one turn: `say`,
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
    (429 with Retry-After); the iCalendar builders of the booking domain
    (assistant/booking/icalendar.py) `appointment_event`, `calendar_of`, `event_uid` and
    `is_own_uid`; `busy_cache`, the library calendar backends share: busy times expanded from
    iCalendar (`busy_of`, `merge_calendars`), cached per source (`BusyCache`, `refresh_loop`,
    `busy_from`), read-only `.ics` feeds (`FeedCfg`, `feed_cache`), clashes with bookings
    reported to staff (`report_conflicts`), `office_options` and `redact`.

Testing a plugin
----------------
Tests use the test kit `assistant.testing` (not this module), which pytest loads with
Amtsbote: the fixture `amtsbote` is the real application (throwaway database, movable clock
`amtsbote.clock`, `say`, `http()`, `run_outbox_now()`) with the plugins your fixture
`amtsbote_plugins` returns; `scripted_rasa.script` says what Rasa's stand-in answers to which
text. Real peers (SMTP, CalDAV, PostgreSQL, Synapse, Chromium, Rasa) are opt-in:
`pytest_plugins = ["assistant.testing.peers.smtp"]`. Example: tests/test_test_kit.py. The
application's object of a plugin is `amtsbote.ctx.pm.get_plugin("<name>")`.

Retention
---------
`Policy`, `Report` and `purge`: the retention service the `retention` plugin runs on a timer
and behind `amtsbote retention`. No plugin sees the stored models; appointments reach plugins
as `AppointmentView`s only.
"""

from __future__ import annotations

from assistant.booking import (
    appointments,
    availability,
    book,
    busy_cache,
    cancel,
    check,
    escalate,
    references,
    reschedule,
    validation,
)
from assistant.booking.appointments import to_view
from assistant.booking.book import Citizen, Origin
from assistant.booking.icalendar import appointment_event, calendar_of, event_uid, is_own_uid
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
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotRef, SlotTask, Task
from assistant.dialogue.turn import Turn
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
from assistant.i18n import BABEL_LOCALE, LANGUAGES, catalog, clock, day, has, t, when
from assistant.messages import Button, Incoming, Reply
from assistant.nlu.spoken import normalize_spoken
from assistant.plugins import Plugin
from assistant.ratelimit import RateLimiter
from assistant.retention import Policy, Report, purge
from assistant.text_channels import (
    NumberedOptions,
    TextVariants,
    display_reference,
    fitting,
    flat,
    gsm_safe,
    is_gsm7,
    listed_in_text,
    offered_buttons,
    reference_of,
    segments,
)
from assistant.twilio_channels import (
    converse,
    e164,
    is_mobile,
    national,
    number_key,
    opted_out,
    set_opt_out,
    signed_form,
    twiml_response,
)
from assistant.values import AppointmentView, BusyInterval, CalendarUnavailable, Meeting

__all__ = [
    "BABEL_LOCALE",
    "LANGUAGES",
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
    "NumberedOptions",
    "Office",
    "Origin",
    "PersonTask",
    "Plugin",
    "Policy",
    "RateLimiter",
    "Reply",
    "Report",
    "Service",
    "SlotRef",
    "SlotTask",
    "StaffOverride",
    "Task",
    "TextVariants",
    "Turn",
    "Understanding",
    "advance",
    "answers",
    "appointment_event",
    "appointments",
    "availability",
    "blocks",
    "book",
    "busy_cache",
    "calendar_of",
    "cancel",
    "catalog",
    "check",
    "client_gate",
    "clock",
    "command_context",
    "converse",
    "day",
    "display_reference",
    "e164",
    "escalate",
    "event_uid",
    "fitting",
    "flat",
    "gsm_safe",
    "has",
    "holiday_name",
    "hookimpl",
    "is_gsm7",
    "is_mobile",
    "is_own_uid",
    "json_error",
    "listed_in_text",
    "load_config",
    "loads_json",
    "national",
    "normalize_spoken",
    "number_key",
    "offered_buttons",
    "opted_out",
    "purge",
    "read_json",
    "reference_of",
    "references",
    "require_env",
    "reschedule",
    "segments",
    "set_opt_out",
    "signed_form",
    "steps",
    "t",
    "to_view",
    "too_many_requests",
    "twiml_response",
    "validation",
    "when",
]
