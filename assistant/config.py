"""Load and validate config.yml: Amtsbote's settings, the office catalogue and plugin sections.

The file also carries Rasa's NLU pipeline (`language`, `pipeline`, ...); Rasa ignores our keys and
we ignore Rasa's. Secrets never live in the file: `${NAME}` (or `${NAME:-default}`) is replaced by
the environment variable. Any error is reported as one `ConfigError` naming key, file and line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RASA_KEYS = {"language", "pipeline", "policies", "recipe", "assistant_id"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config problem, worded for the IT admin who edits config.yml."""


def require_env(name: str) -> str:
    """The value of a secret's environment variable (plugins name the variable in config.yml)."""
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"environment variable {name} is not set")
    return value


BUILTIN_FLOWS = ("book", "reschedule", "cancel", "check", "video", "information", "person",
                 "faq")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18nText(Strict):
    de: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


class TimeRangeCfg(Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRangeCfg:
        if self.end <= self.start:
            raise ValueError(f"opening range ends ({self.end}) before it starts ({self.start})")
        return self

    @classmethod
    def parse(cls, value: Any) -> TimeRangeCfg:
        if isinstance(value, str) and "-" in value:
            a, b = (p.strip() for p in value.split("-", 1))
            return cls(start=time.fromisoformat(a), end=time.fromisoformat(b))
        return cls.model_validate(value)


class Closure(Strict):
    """Days an office is closed, `start` to `end` (both included; one day without `end`).

    With `every: year` the closure repeats each year from its first date on:
    `{start: 2026-12-24, end: 2026-12-31, every: year}` is 24.12.–31.12. every year from 2026,
    and `{start: 2026-12-28, end: 2027-01-02, every: year}` spans every year's end.
    """

    start: date
    end: date | None = None
    every: Literal["year"] | None = None
    reason: I18nText | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _full_date(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d\d?-\d\d?", value.strip()):
            raise ValueError(f"{value!r} has no year: give the first date in full, like "
                             "2026-12-24; `every: year` repeats it each year from then on")
        return value

    @model_validator(mode="after")
    def _span(self) -> Closure:
        if self.last < self.start:
            raise ValueError(f"closure ends ({self.last}) before it starts ({self.start})")
        if self.every == "year":
            if (2, 29) in {(d.month, d.day) for d in (self.start, self.last)}:
                raise ValueError("a closure repeated every year cannot start or end on 29 "
                                 "February (not every year has one)")
            if self.last >= _years_later(self.start, 1):
                raise ValueError("a closure repeated every year must be shorter than a year")
        return self

    @property
    def last(self) -> date:
        return self.end or self.start

    def periods(self, frm: date, to: date) -> list[Closure]:
        """The dated closures (this one, or its yearly repetitions) that overlap [frm, to]."""
        if self.every != "year":
            return [self] if self.start <= to and self.last >= frm else []
        out = []
        for year in range(max(self.start.year, frm.year - 1), to.year + 1):
            shift = year - self.start.year
            period = Closure(start=_years_later(self.start, shift),
                             end=_years_later(self.last, shift), reason=self.reason)
            if period.start <= to and period.last >= frm:
                out.append(period)
        return out

    def on(self, day: date) -> Closure | None:
        """The dated closure covering `day`, if this one (or a repetition of it) does."""
        return next(iter(self.periods(day, day)), None)

    def next_from(self, day: date) -> Closure | None:
        """The dated closure (this one or its next repetition) that has not ended by `day`."""
        if self.every != "year" or self.last >= day:
            return self if self.last >= day else None
        return self.periods(day, day + timedelta(days=366))[0]


def _years_later(day: date, years: int) -> date:
    return day.replace(year=day.year + years)  # 29 February is refused for yearly closures


class CalendarCfg(Strict):
    backend: str = "builtin"
    # Backend-specific options (URL, calendar name ...); the backend plugin validates them.
    options: dict[str, Any] = Field(default_factory=dict)


class Address(Strict):
    street: str
    postcode: str
    city: str

    def one_line(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


class Office(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: I18nText
    aliases: list[str] = Field(default_factory=list)
    address: Address
    phone: str | None = None
    email: str | None = None
    timezone: str = "Europe/Berlin"
    opening_hours: dict[str, list[TimeRangeCfg]]
    closures: list[Closure] = Field(default_factory=list)
    counters: int = Field(default=1, ge=1, le=50)
    calendar: CalendarCfg = Field(default_factory=CalendarCfg)
    services: list[str]
    channels: list[str] | None = None  # None: every enabled channel

    @field_validator("opening_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}, use one of {', '.join(WEEKDAYS)}")
            ranges = ranges or []
            out[day] = [TimeRangeCfg.parse(r) for r in ranges]
        return out

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> list[TimeRangeCfg]:
        return list(self.opening_hours.get(WEEKDAYS[day.weekday()], []))

    def closed_on(self, day: date) -> Closure | None:
        """The (dated) closure covering `day`; closures repeated every year count each year."""
        return next((hit for c in self.closures if (hit := c.on(day))), None)

    def closures_from(self, day: date) -> list[Closure]:
        """Dated closures that have not ended by `day`, soonest first (a yearly one as its next
        repetition): what to tell citizens."""
        return sorted((hit for c in self.closures if (hit := c.next_from(day))),
                      key=lambda c: (c.start, c.last))


class Service(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: I18nText
    aliases: list[str] = Field(default_factory=list)
    duration_minutes: int = Field(ge=5, le=240)
    documents: dict[Literal["de", "en"], list[str]]
    fee: I18nText
    notes: I18nText | None = None
    video: bool = False

    @field_validator("duration_minutes")
    @classmethod
    def _grid(cls, value: int) -> int:
        if value % 5:
            raise ValueError("duration_minutes must be a multiple of 5")
        return value


class StorageCfg(Strict):
    url: str = "sqlite+aiosqlite:///var/amtsbote.sqlite3"
    echo: bool = False


class NluCfg(Strict):
    url: str = "http://127.0.0.1:5005"
    timeout_seconds: float = 3.0
    retries: int = 1
    # Circuit breaker: after this many failures in a row, skip Rasa for `breaker_seconds`.
    breaker_failures: int = 3
    breaker_seconds: float = 30.0
    # Below this intent confidence the bot asks back instead of guessing.
    confidence_threshold: float = 0.55
    # When the two best intents are closer than this, it asks back too.
    ambiguity_margin: float = 0.1


class ServerCfg(Strict):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # as citizens and webhooks reach us (behind a proxy)
    max_message_chars: int = 2000
    rate_limit_per_minute: int = 30
    # Messages per client IP address (REST, web chat) and per minute; 0: no limit. Over it the
    # client gets 429 with Retry-After. Addresses in `rate_limit_exempt` are not limited per IP.
    rate_limit_per_ip_per_minute: int = Field(default=120, ge=0)
    # Messages of all clients together per minute (REST, web chat); 0: no limit.
    rate_limit_global_per_minute: int = Field(default=12000, ge=0)
    # Messages per kiosk terminal (identified by its token, not its address) and minute.
    rate_limit_per_kiosk_per_minute: int = Field(default=120, ge=0)
    # Never limited per IP (the host itself: health checks, load tests); the global limit stays.
    rate_limit_exempt: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed; from any other
    # peer the header is ignored and the peer's address is the client's.
    trusted_proxies: list[str] = Field(default_factory=list)
    # How long the staff API keeps an `Idempotency-Key` and its answer (assistant/idempotency.py).
    idempotency_key_hours: float = Field(default=24, gt=0)
    # Environment variable with the kiosk terminals' tokens: `name=token,name=token`
    # (tokens of at least 16 characters). A kiosk sends its token as X-Amtsbote-Terminal or
    # opens /kiosk?terminal=TOKEN once, which keeps it in a cookie.
    kiosk_tokens_env: str = "AMTSBOTE_KIOSK_TOKENS"
    # Wrong reference/last-name pairs per hour (booking.verification_window_minutes) before
    # look-ups are refused: per reference code, per client (IP, kiosk, caller) and in all;
    # per sender: booking.max_verification_failures. 0: no limit.
    verification_failures_per_reference: int = Field(default=5, ge=0)
    verification_failures_per_client: int = Field(default=20, ge=0)
    verification_failures_global: int = Field(default=500, ge=0)
    # A second request for staff (human, call-back) from the same conversation or contact
    # while the first still waits, within this many minutes, is merged into the first.
    staff_request_dedup_minutes: int = Field(default=30, ge=0)
    # The back office (/staff/): a session unused for this many minutes is logged out; failed
    # logins per user name and per client address within `staff_login_window_minutes` before
    # further logins are refused (429) until the window has passed.
    staff_idle_minutes: int = Field(default=30, ge=1)
    staff_login_failures_per_user: int = Field(default=5, ge=1)
    staff_login_failures_per_address: int = Field(default=20, ge=1)
    staff_login_window_minutes: int = Field(default=15, ge=1)

    @field_validator("trusted_proxies", "rate_limit_exempt")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for net in value:
            try:
                ipaddress.ip_network(str(net).strip(), strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not an IP address or network like "
                                 "10.0.0.0/8") from None
        return [str(net).strip() for net in value]

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class BookingCfg(Strict):
    min_notice_minutes: int = 60
    horizon_days: int = 90
    hold_minutes: int = 5
    slot_step_minutes: int = 15
    offers: int = Field(default=4, ge=3, le=5)
    holiday_subdivision: str = "SN"
    max_verification_failures: int = 5
    reminder_hours: list[int] = Field(default_factory=lambda: [24])
    verification_window_minutes: int = 60


class RetentionCfg(Strict):
    # Personal data of an appointment is removed this long after its end.
    personal_data_days: int = 1
    conversation_idle_hours: int = 24


class FaqEntry(Strict):
    """A question the office answers the same way every time ("Kann ich online bezahlen?"):
    it matches when all words of one of its `keywords` are in the message, in any order."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    keywords: list[str] = Field(min_length=1)
    answer: I18nText


class Config(Strict):
    """Everything Amtsbote reads from config.yml (Rasa's keys are kept aside in `rasa`)."""

    path: Path
    storage: StorageCfg = Field(default_factory=StorageCfg)
    nlu: NluCfg = Field(default_factory=NluCfg)
    server: ServerCfg = Field(default_factory=ServerCfg)
    booking: BookingCfg = Field(default_factory=BookingCfg)
    retention: RetentionCfg = Field(default_factory=RetentionCfg)
    video: dict[str, Any] = Field(default_factory=lambda: {"provider": "jitsi"})
    default_language: Literal["de", "en"] = "de"
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Conversation flows (plugins too): the built-in ones unless config.yml lists its own set.
    flows: dict[str, dict[str, Any]] = Field(default_factory=lambda: {
        name: {} for name in BUILTIN_FLOWS})
    offices: list[Office]
    services: list[Service]
    faq: list[FaqEntry] = Field(default_factory=list)
    rasa: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Config:
        service_ids = {s.id for s in self.services}
        for i, office in enumerate(self.offices):
            for j, sid in enumerate(office.services):
                if sid not in service_ids:
                    raise _LocatedValueError(
                        ("offices", i, "services", j), f"unknown service id {sid!r}"
                    )
        if len({o.id for o in self.offices}) != len(self.offices):
            raise ValueError("office ids must be unique")
        if len(service_ids) != len(self.services):
            raise ValueError("service ids must be unique")
        return self

    # -- lookups ---------------------------------------------------------------
    def office(self, office_id: str) -> Office | None:
        return next((o for o in self.offices if o.id == office_id), None)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def offices_for(self, service_id: str, channel: str | None = None) -> list[Office]:
        return [
            o
            for o in self.offices
            if service_id in o.services and (channel is None or o.channels is None
                                             or channel in o.channels)
        ]

    def enabled_plugins(self) -> set[str]:
        """Names of plugins config.yml switches on (`enabled: false` switches one off)."""
        names = {n for n, s in {**self.channels, **self.plugins, **self.flows}.items()
                 if _truthy((s or {}).get("enabled", True))}
        names |= {o.calendar.backend for o in self.offices}
        if self.video.get("provider"):
            names.add(str(self.video["provider"]))
        return names

    def plugin_settings(self, name: str) -> dict[str, Any]:
        raw = self.channels.get(name, self.plugins.get(name, self.flows.get(name))) or {}
        return {k: v for k, v in raw.items() if k != "enabled"}


def _truthy(value: Any) -> bool:
    """`enabled: false`, also when it came from `${VAR:-false}` as a string."""
    if isinstance(value, str):
        return value.strip().casefold() not in {"", "false", "0", "no", "off"}
    return bool(value)


class _LocatedValueError(ValueError):
    def __init__(self, loc: tuple[Any, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc


# -- YAML with line numbers --------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    out: dict[str, Any] = {}
    lines: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    loader.line_index[id(out)] = lines
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> list[Any]:
    out = [loader.construct_object(n, deep=True) for n in node.value]
    loader.line_index[id(out)] = {i: n.start_mark.line + 1 for i, n in enumerate(node.value)}
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Doc:
    def __init__(self, path: Path) -> None:
        self.path = path
        loader = _LineLoader(path.read_text(encoding="utf-8"))
        loader.line_index = {}
        try:
            self.data = loader.get_single_data()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        finally:
            loader.dispose()
        self.lines = loader.line_index
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise ConfigError(f"{path}:1: the file must be a mapping of keys")

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        node: Any = self.data
        line = None
        for part in loc:
            index = self.lines.get(id(node), {})
            if part in index:
                line = index[part]
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        return line


def _interpolate(value: Any, where: tuple[Any, ...], doc: _Doc) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*where, k), doc) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*where, i), doc) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(_located(doc, where, f"environment variable {name} is not set"))

        return _ENV.sub(sub, value)
    return value


def _located(doc: _Doc, loc: tuple[Any, ...], msg: str) -> str:
    key = ".".join(str(p) for p in loc) or "(top level)"
    line = doc.line_of(loc)
    where = f"{doc.path}:{line}" if line else str(doc.path)
    return f"{where}: {key}: {msg}"


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read config.yml (and the catalogue file it references) into a validated `Config`."""
    cfg_path = Path(path or os.environ.get("AMTSBOTE_CONFIG", "config.yml")).resolve()
    if not cfg_path.exists():
        raise ConfigError(f"{cfg_path}: file not found (set AMTSBOTE_CONFIG or pass --config)")
    doc = _Doc(cfg_path)
    data = _interpolate(doc.data, (), doc)
    docs: dict[str, _Doc] = {k: doc for k in data}
    catalogue = data.pop("catalogue", None)
    if catalogue:
        cat_doc = _Doc((cfg_path.parent / str(catalogue)).resolve())
        cat = _interpolate(cat_doc.data, (), cat_doc)
        for key in ("offices", "services", "faq"):
            if key in cat:
                if key in data:
                    raise ConfigError(_located(doc, (key,), "given both inline and in catalogue"))
                data[key] = cat[key]
                docs[key] = cat_doc
    rasa = {k: data.pop(k) for k in list(data) if k in RASA_KEYS}
    try:
        return Config(path=cfg_path, rasa=rasa, **data)
    except _LocatedValueError as exc:
        raise ConfigError(_located(docs.get(exc.loc[0], doc), exc.loc, str(exc))) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        src = docs.get(loc[0], doc) if loc else doc
        inner = err.get("ctx", {}).get("error")
        if isinstance(inner, _LocatedValueError):
            loc = inner.loc
            src = docs.get(loc[0], doc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        return_msg = _located(src, loc, msg)
        raise ConfigError(return_msg) from None
