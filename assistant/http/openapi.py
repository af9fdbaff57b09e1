"""OpenAPI 3.1 description of Amtsbote's HTTP API, served at /api/v1/openapi.json.

Request bodies the handlers validate are pydantic models here; their schemas in the spec
are generated from the same models, so the description and the checks cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.booking.validation import CODES

VIDEO_STATUSES = ("waiting", "taken", "done")

# -- request bodies ------------------------------------------------------------------------------


class _Body(BaseModel):
    # Strict: "abc" or "240" is no number, 4935 is no phone number; unknown keys are refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class CitizenIn(_Body):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40,
                              description="German or international notation; stored as E.164")
    email: str | None = Field(default=None, max_length=254)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        number = normalize_phone(value)
        if number is None:
            raise ValueError("not a valid phone number")
        return number

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not EMAIL.fullmatch(value.strip()):
            raise ValueError("not a valid e-mail address")
        return value.strip()


class OverrideIn(_Body):
    reason: str = Field(min_length=1, max_length=500,
                        description="why staff book outside the opening hours or on a closed "
                                    "day (audited)")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class NewAppointment(_Body):
    """Body of POST /api/v1/appointments. The duration comes from the service."""

    service: str = Field(description="service id")
    office: str = Field(description="office id")
    start: datetime = Field(description="ISO-8601; without an offset, the office's local time. "
                                        "Must be a slot the office offers (see 422)")
    citizen: CitizenIn
    channel: str = Field(default="staff", pattern=r"^[a-z][a-z0-9_]*$", max_length=32,
                         description="how the request reached staff (phone, counter, ...)")
    language: Literal["de", "en"] = "de"
    staff_seconds: int | None = Field(default=None, ge=0, le=86_400,
                                      description="the clerk's handling time")
    override: OverrideIn | None = Field(
        default=None, description="book outside the opening hours, on a closure or holiday; "
        "never in the past, off the grid or over another appointment. When it was needed, "
        "the reason is stored with the appointment (`override_reason`)")


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


# -- the description ---------------------------------------------------------------------------
#
# Every operation lists every status it can answer with: 400 for a malformed request, 401 and
# 503 (no AMTSBOTE_API_TOKEN set) where staff sign in, 404 where a path names something, 413
# where a body is read (more than 64 KiB, or a text over `server.max_message_chars`), 429
# where a rate limit applies. A method a path does not have is a 405 with `Allow`.
# tests/test_openapi.py checks the running app against this description with Schemathesis.

_STAFF = [{"staffToken": []}]


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}},
            **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _err(schema: str, description: str, **extra: Any) -> dict[str, Any]:
    return _json(_ref(schema), description, **extra)


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return _json(schema, description)


def _array(item: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(item)}


_E400 = _err("Error", "malformed request: invalid JSON (also nested too deep, a lone UTF-16 "
             "surrogate, NaN), a wrong type, an unknown id, a date out of range")
_E404 = _err("Error", "not found")
# `Idempotency-Key` on the staff POSTs (assistant/idempotency.py).
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "1 to 255 printable ASCII characters, unique per request. The first "
                   "request with a key is done and its answer (status and body) stored with "
                   "the change; a retry with the same key (per staff token) within "
                   "`server.idempotency_key_hours` (24) gets that answer again, marked "
                   "`Idempotent-Replayed: true`, and changes nothing. A retry while the first "
                   "is still running waits for it. Answers that changed nothing (4xx) are "
                   "not stored. The same key with another method, path or body is 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": "^[!-~]([ -~]*[!-~])?$"}}
_E400_KEY = _err("Error", "a malformed Idempotency-Key")
_E409_KEY = "; or (`code: idempotency_key_in_use`, with Retry-After) a request with the same "\
    "Idempotency-Key is still running"
_E422_KEY = "the Idempotency-Key was used for another request (`code: idempotency_key_reused`)"
_E409 = _err("Error", "conflict with the current state")
_E413 = _err("Error", "body larger than 64 KiB, or a text longer than "
             "server.max_message_chars")
_E429 = _err("RateLimited", "too many requests from this client (address or kiosk terminal) "
             "or from everyone together; retry after `Retry-After` seconds",
             headers={"Retry-After": {"required": True, "description": "seconds to wait",
                                      "schema": {"type": "string", "pattern": "^[0-9]+$"}}})
_STAFF_ERRORS = {
    "401": _err("Error", "staff token missing or wrong",
                headers={"WWW-Authenticate": {"required": True,
                                              "schema": {"type": "string"}}}),
    "503": _err("Error", "staff API disabled: AMTSBOTE_API_TOKEN is not set"),
}


def _q(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


def _when(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}}


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", **schema}}


_WHEN = ("ISO-8601 date (YYYY-MM-DD) or date and time; without an offset Berlin time; "
         "years 1900 to 2999")
_REF = _path("reference", "Reference code, e.g. K7Q-M4P (any case, dash optional)")
_JSON_BODY = "application/json"


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {_JSON_BODY: {"schema": schema}}}


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Amtsbote API", "version": "1",
             "description": "Appointments at citizens' offices; catalogue ids are stable. "
                            "Errors are JSON objects with `error`; a method a path does not "
                            "have is answered 405 with `Allow`."},
    "paths": {
        "/webhooks/rest/webhook": {"post": {
            "summary": "Chat (Rasa REST channel format)",
            "requestBody": _body(_ref("RestMessage")),
            "responses": {"200": _ok(_array("RestReply")), "400": _E400, "413": _E413,
                          "429": _E429}}},
        "/api/v1/offices": {"get": {
            "summary": "Offices with hours and service ids",
            "responses": {"200": _ok(_array("Office"))}}},
        "/api/v1/services": {"get": {
            "summary": "Services with documents, fees and office ids",
            "responses": {"200": _ok(_array("Service"))}}},
        "/api/v1/slots": {"get": {
            "summary": "Free slots",
            "parameters": [_q("service", "service id", True), _q("office", "office id"),
                           _when("from", f"{_WHEN}; default now"),
                           _when("to", f"{_WHEN}; default 14 days after `from`, at most 92")],
            "responses": {"200": _ok({"type": "object", "required": ["slots"], "properties": {
                "slots": _array("Slot")}}),
                "400": _E400}}},
        "/api/v1/nlu/parse": {"post": {
            "summary": "Understand one text: intent, catalogue entities, time intervals",
            "requestBody": _body({
                "type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "maxLength": 2000},
                    "now": {"type": "string", "format": "date-time",
                            "description": f"the moment relative times refer to: {_WHEN}"}}}),
            "responses": {"200": _ok(_ref("Parse")), "400": _E400, "413": _E413,
                          "429": _E429, "503": _err("Error", "NLU server unavailable")}}},
        "/api/v1/appointments": {
            "get": {"summary": "Appointments of one office on one day", "security": _STAFF,
                    "parameters": [_q("office", "office id", True),
                                   _q("date", "YYYY-MM-DD (years 1900 to 2999); default "
                                      "today", format="date")],
                    "responses": {"200": _ok(_array("Appointment")),
                                  "400": _err("Error", "unknown office, or a bad date"),
                                  **_STAFF_ERRORS}},
            "post": {"summary": "Staff book by hand (counts as not via Amtsbote)",
                     "description": "The whole body is checked before anything is stored. "
                                    "The start must be a slot the office offers: on its grid, "
                                    "in its opening hours for the service's whole duration, "
                                    "not on a closure or public holiday, not in the past, "
                                    "with the minimum notice and within the booking horizon. "
                                    "`override` (with a reason, audited) lifts opening hours, "
                                    "closures and holidays only.",
                     "security": _STAFF, "parameters": [_IDEMPOTENCY_KEY],
                     "requestBody": _body(_ref("NewAppointment")),
                     "responses": {
                         "201": _ok(_ref("Appointment"), "booked"),
                         "400": _err("BodyError", "malformed body: invalid JSON, a missing or "
                                     "wrongly typed field, unknown service or office; a "
                                     "malformed Idempotency-Key"),
                         **_STAFF_ERRORS,
                         "409": _err("Error", "slot not free: every counter is taken"
                                     + _E409_KEY),
                         "413": _E413,
                         "422": _json({"anyOf": [_ref("StartError"), _ref("Error")]},
                                      "the start cannot be booked; `code` says why; or "
                                      + _E422_KEY)}}},
        "/api/v1/appointments/{reference}": {"get": {
            "summary": "One appointment", "security": _STAFF, "parameters": [_REF],
            "responses": {"200": _ok(_ref("Appointment")), **_STAFF_ERRORS,
                          "404": _E404}}},
        "/api/v1/appointments/{reference}/cancel": {"post": {
            "summary": "Staff cancel", "security": _STAFF,
            "parameters": [_REF, _IDEMPOTENCY_KEY],
            "responses": {"200": _ok(_ref("Appointment")), "400": _E400_KEY, **_STAFF_ERRORS,
                          "404": _E404,
                          "409": _err("Error", "appointment is not booked (cancelled "
                                      "already)" + _E409_KEY),
                          "422": _err("Error", _E422_KEY)}}},
        "/api/v1/video-requests": {"get": {
            "summary": "Citizens waiting for staff (video now, human, call-back)",
            "security": _STAFF,
            "parameters": [_q("status", "default waiting", enum=list(VIDEO_STATUSES))],
            "responses": {"200": _ok(_array("VideoRequest")),
                          "400": _err("Error", "unknown status"), **_STAFF_ERRORS}}},
        "/api/v1/video-requests/{id}/take": {"post": {
            "summary": "A clerk takes a waiting request (first come, first served)",
            "security": _STAFF,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "description": "request id; anything else than a whole number "
                                           "from 0 to 2147483647 is no request (404)",
                            "schema": {"type": "integer", "minimum": 0,
                                       "maximum": 2**31 - 1}}, _IDEMPOTENCY_KEY],
            "responses": {"200": _ok(_ref("VideoRequest")), "400": _E400_KEY,
                          **_STAFF_ERRORS, "404": _E404,
                          "409": _err("Error", "already taken" + _E409_KEY),
                          "422": _err("Error", _E422_KEY)}}},
        "/api/v1/stats": {"get": {
            "summary": "Share of actions via Amtsbote, citizen and clerk minutes",
            "security": _STAFF,
            "parameters": [_when("from", f"{_WHEN}; default 30 days ago"),
                           _when("to", f"{_WHEN}; default tomorrow")],
            "responses": {"200": _ok(_ref("Stats")), "400": _E400, **_STAFF_ERRORS}}},
        "/api/v1/offices/{office}/appointments.ics": {"get": {
            "summary": "iCalendar feed of an office's booked appointments",
            "description": "The staff token in the Authorization header, or a feed token of "
                           "this office (`amtsbote feed-token create`) in `?token=`; the "
                           "staff token in the URL is refused (400).",
            "security": [*_STAFF, {"feedToken": []}],
            "parameters": [_path("office", "office id"),
                           _q("token", "a feed token of this office")],
            "responses": {
                "200": {"description": "the feed", "headers": {"ETag": {
                    "schema": {"type": "string"}}},
                        "content": {"text/calendar": {"schema": {"type": "string"}}}},
                "304": {"description": "not modified (If-None-Match)"},
                "400": _err("Error", "the staff token was sent in the URL"),
                **_STAFF_ERRORS,
                "404": _err("Error", "unknown office")}}},
        "/healthz": {"get": {
            "summary": "Liveness: database and NLU server",
            "responses": {"200": _ok({"type": "object", "required": ["status", "database"],
                                      "properties": {
                                          "status": {"const": "ok"},
                                          "database": {"const": "ok"},
                                          "nlu": {"enum": ["ok", "down"]}}}),
                          "500": _err("Error", "the database does not answer")}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics",
            "responses": {"200": {"description": "Prometheus text format", "content": {
                "text/plain": {"schema": {"type": "string"}}}}}}},
    },
    "components": {
        "securitySchemes": {
            "staffToken": {"type": "http", "scheme": "bearer",
                           "description": "AMTSBOTE_API_TOKEN"},
            "feedToken": {"type": "apiKey", "in": "query", "name": "token",
                          "description": "a feed token of the office (read-only, one feed)"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}}},
            "RateLimited": {"type": "object", "required": ["error", "retry_after"],
                            "properties": {"error": {"const": "rate_limited"},
                                           "retry_after": {"type": "integer", "minimum": 1}}},
            "BodyError": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"},
                "field": {"type": "string", "description": "dotted path, e.g. citizen.email"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "message": {"type": "string"}}}}}},
            "StartError": {"type": "object", "required": ["error", "code"], "properties": {
                "error": {"type": "string"},
                "code": {"enum": sorted(CODES)},
                "field": {"type": ["string", "null"]}}},
            **_model_schemas(NewAppointment),
            "RestMessage": {"type": "object", "required": ["sender", "message"], "properties": {
                "sender": {"type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": r"\S"},
                "message": {"type": "string", "maxLength": 2000,
                            "description": "longer texts are answered with a request to "
                                           "write less"},
                "metadata": {"type": "object", "properties": {
                    "language": {"enum": ["de", "en"]}}}}},
            "RestReply": {"type": "object", "required": ["recipient_id", "text"],
                          "properties": {
                              "recipient_id": {"type": "string"}, "text": {"type": "string"},
                              "buttons": {"type": "array", "items": {
                                  "type": "object", "required": ["title", "payload"],
                                  "properties": {"title": {"type": "string"},
                                                 "payload": {"type": "string"}}}},
                              "custom": {"type": "object"}}},
            "Text": {"type": "object", "required": ["de", "en"], "properties": {
                "de": {"type": "string"}, "en": {"type": "string"}}},
            "Office": {"type": "object", "required": [
                "id", "name", "address", "timezone", "counters", "opening_hours", "closures",
                "services"], "properties": {
                "id": {"type": "string"}, "name": _ref("Text"),
                "address": {"type": "object", "required": ["street", "postcode", "city"],
                            "properties": {"street": {"type": "string"},
                                           "postcode": {"type": "string"},
                                           "city": {"type": "string"}}},
                "phone": {"type": ["string", "null"]},
                "timezone": {"type": "string"},
                "counters": {"type": "integer", "minimum": 1},
                "opening_hours": {"type": "object", "additionalProperties": {
                    "type": "array", "items": {"type": "string",
                                               "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:"
                                                          "[0-5][0-9]$"}}},
                "closures": {"type": "array", "items": {
                    "type": "object", "required": ["start", "end"], "properties": {
                        "start": {"type": "string", "format": "date"},
                        "end": {"type": "string", "format": "date"},
                        "every": {"const": "year"}}}},
                "services": {"type": "array", "items": {"type": "string"}}}},
            "Service": {"type": "object", "required": [
                "id", "name", "duration_minutes", "documents", "fee", "video", "offices"],
                "properties": {
                    "id": {"type": "string"}, "name": _ref("Text"),
                    "duration_minutes": {"type": "integer", "minimum": 5},
                    "documents": {"type": "object", "additionalProperties": {
                        "type": "array", "items": {"type": "string"}}},
                    "fee": _ref("Text"),
                    "notes": {"oneOf": [_ref("Text"), {"type": "null"}]},
                    "video": {"type": "boolean"},
                    "offices": {"type": "array", "items": {"type": "string"}}}},
            "Slot": {"type": "object", "required": ["office", "service", "start", "end",
                                                    "free_counters"], "properties": {
                "office": {"type": "string"}, "service": {"type": "string"},
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "free_counters": {"type": "integer", "minimum": 1}}},
            "Parse": {"type": "object", "required": ["intent", "entities"], "properties": {
                "intent": {"type": "object", "required": ["name", "confidence"], "properties": {
                    "name": {"type": ["string", "null"]},
                    "confidence": {"type": "number"}}},
                "entities": {"type": "array", "items": {
                    "type": "object", "required": ["entity", "value"], "properties": {
                        "entity": {"type": "string"},
                        "value": {"oneOf": [
                            {"type": "string"},
                            {"type": "object", "required": ["start", "end"], "properties": {
                                "start": {"type": "string", "format": "date-time"},
                                "end": {"type": "string", "format": "date-time"}}}]}}}},
                "language": {"type": ["string", "null"]}}},
            "Appointment": {"type": "object", "required": [
                "reference", "service", "office", "start", "end", "mode", "status", "channel",
                "citizen"], "properties": {
                "reference": {"type": "string"}, "service": {"type": "string"},
                "office": {"type": "string"},
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "mode": {"enum": ["in_person", "video"]},
                "status": {"enum": ["booked", "cancelled"]}, "channel": {"type": "string"},
                "language": {"enum": ["de", "en"]},
                "video_url": {"type": ["string", "null"]},
                "citizen": {"type": "object", "properties": {
                    "name": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]},
                    "email": {"type": ["string", "null"]}}},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "override_reason": {"type": ["string", "null"],
                                    "description": "why staff booked or moved it outside the "
                                                   "opening hours, on a closure or a holiday "
                                                   "(`override`); null when it needed none"}}},
            "VideoRequest": {"type": "object", "required": [
                "id", "kind", "status", "channel", "language", "created_at"], "properties": {
                "id": {"type": "integer"}, "kind": {"enum": ["video", "human", "callback"]},
                "status": {"enum": list(VIDEO_STATUSES)},
                "office": {"type": ["string", "null"]},
                "service": {"type": ["string", "null"]},
                "channel": {"type": "string"}, "language": {"type": "string"},
                "staff_url": {"type": ["string", "null"]},
                "callback_number": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"}}},
            "Stats": {"type": "object", "required": ["from", "to", "kinds"], "properties": {
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time"},
                "kinds": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["total", "via_amtsbote"], "properties": {
                        "total": {"type": "integer"}, "via_amtsbote": {"type": "integer"},
                        "share_via_amtsbote": {"type": ["number", "null"]},
                        "by_channel": {"type": "object",
                                       "additionalProperties": {"type": "integer"}},
                        "citizen_minutes_avg": {"type": ["number", "null"]},
                        "turns_avg": {"type": ["number", "null"]},
                        "clerk_minutes_avg": {"type": ["number", "null"]}}}},
                "share_of_actions_via_amtsbote": {"type": ["number", "null"]}}},
        },
    },
}
