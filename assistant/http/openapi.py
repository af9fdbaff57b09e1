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
        "never in the past, off the grid or over another appointment")


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


# -- the description ---------------------------------------------------------------------------

_STAFF = [{"staffToken": []}]
_ERR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


def _err(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{schema}"}}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _q(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string"}}


_REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "Reference code, e.g. K7Q-M4P (any case, dash optional)"}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Amtsbote API", "version": "1",
             "description": "Appointments at citizens' offices; catalogue ids are stable."},
    "paths": {
        "/webhooks/rest/webhook": {"post": {
            "summary": "Chat (Rasa REST channel format)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/RestMessage"}}}},
            "responses": {"200": _ok({"type": "array", "items": {
                "$ref": "#/components/schemas/RestReply"}}), "400": _ERR, "429": _ERR}}},
        "/api/v1/offices": {"get": {"summary": "Offices with hours and service ids",
                                    "responses": {"200": _ok({"type": "array"})}}},
        "/api/v1/services": {"get": {"summary": "Services with documents, fees and office ids",
                                     "responses": {"200": _ok({"type": "array"})}}},
        "/api/v1/slots": {"get": {
            "summary": "Free slots",
            "parameters": [_q("service", "service id", True), _q("office", "office id"),
                           _q("from", "ISO-8601 date or time"), _q("to", "ISO-8601 date or time")],
            "responses": {"200": _ok({"type": "object"}), "400": _ERR}}},
        "/api/v1/nlu/parse": {"post": {
            "summary": "Understand one text: intent, catalogue entities, time intervals",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "maxLength": 2000},
                    "now": {"type": "string", "format": "date-time"}}}}}},
            "responses": {"200": _ok({"$ref": "#/components/schemas/Parse"}), "400": _ERR,
                          "503": _ERR}}},
        "/api/v1/appointments": {
            "get": {"summary": "Appointments of one office on one day", "security": _STAFF,
                    "parameters": [_q("office", "office id", True), _q("date", "YYYY-MM-DD")],
                    "responses": {"200": _ok({"type": "array", "items": {
                        "$ref": "#/components/schemas/Appointment"}}), "401": _ERR}},
            "post": {"summary": "Staff book by hand (counts as not via Amtsbote)",
                     "description": "The whole body is checked before anything is stored. "
                                    "The start must be a slot the office offers: on its grid, "
                                    "in its opening hours for the service's whole duration, "
                                    "not on a closure or public holiday, not in the past, "
                                    "with the minimum notice and within the booking horizon. "
                                    "`override` (with a reason, audited) lifts opening hours, "
                                    "closures and holidays only.",
                     "security": _STAFF,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/NewAppointment"}}}},
                     "responses": {
                         "201": _ok({"$ref": "#/components/schemas/Appointment"}, "booked"),
                         "400": _err("BodyError", "malformed body: invalid JSON, a missing or "
                                     "wrongly typed field, unknown service or office"),
                         "401": _ERR,
                         "409": _err("Error", "slot not free: every counter is taken"),
                         "422": _err("StartError", "the start cannot be booked; `code` says "
                                     "why")}}},
        "/api/v1/appointments/{reference}": {"get": {
            "summary": "One appointment", "security": _STAFF, "parameters": [_REF],
            "responses": {"200": _ok({"$ref": "#/components/schemas/Appointment"}),
                          "401": _ERR, "404": _ERR}}},
        "/api/v1/appointments/{reference}/cancel": {"post": {
            "summary": "Staff cancel", "security": _STAFF, "parameters": [_REF],
            "responses": {"200": _ok({"$ref": "#/components/schemas/Appointment"}),
                          "404": _ERR, "409": _ERR}}},
        "/api/v1/video-requests": {"get": {
            "summary": "Citizens waiting for staff (video now, human)", "security": _STAFF,
            "parameters": [_q("status", "waiting (default), taken, done")],
            "responses": {"200": _ok({"type": "array"})}}},
        "/api/v1/video-requests/{id}/take": {"post": {
            "summary": "A clerk takes a waiting request", "security": _STAFF,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": _ok({"type": "object"}), "409": _ERR}}},
        "/api/v1/stats": {"get": {
            "summary": "Share of actions via Amtsbote, citizen and clerk minutes",
            "security": _STAFF, "parameters": [_q("from", "ISO date"), _q("to", "ISO date")],
            "responses": {"200": _ok({"type": "object"})}}},
        "/api/v1/offices/{office}/appointments.ics": {"get": {
            "summary": "iCalendar feed of an office's booked appointments (staff or feed token)",
            "security": _STAFF,
            "parameters": [{"name": "office", "in": "path", "required": True,
                            "schema": {"type": "string"}}, _q("token", "office feed token")],
            "responses": {"200": {"description": "text/calendar"}, "401": _ERR, "404": _ERR}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _ok({"type": "object"})}}},
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": {"description": "text format"}}}},
    },
    "components": {
        "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer",
                                           "description": "AMTSBOTE_API_TOKEN"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "BodyError": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"},
                "field": {"type": "string", "description": "dotted path, e.g. citizen.email"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "message": {"type": "string"}}}}}},
            "StartError": {"type": "object", "required": ["error", "code"], "properties": {
                "error": {"type": "string"},
                "code": {"enum": sorted(CODES)},
                "field": {"type": "string"}}},
            **_model_schemas(NewAppointment),
            "RestMessage": {"type": "object", "required": ["sender", "message"], "properties": {
                "sender": {"type": "string"}, "message": {"type": "string", "maxLength": 2000},
                "metadata": {"type": "object"}}},
            "RestReply": {"type": "object", "properties": {
                "recipient_id": {"type": "string"}, "text": {"type": "string"},
                "buttons": {"type": "array", "items": {"type": "object", "properties": {
                    "title": {"type": "string"}, "payload": {"type": "string"}}}},
                "custom": {"type": "object"}}},
            "Parse": {"type": "object", "properties": {
                "intent": {"type": "object", "properties": {
                    "name": {"type": "string"}, "confidence": {"type": "number"}}},
                "entities": {"type": "array", "items": {"type": "object", "properties": {
                    "entity": {"type": "string"},
                    "value": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {
                        "start": {"type": "string"}, "end": {"type": "string"}}}]}}}}}},
            "Appointment": {"type": "object", "properties": {
                "reference": {"type": "string"}, "service": {"type": "string"},
                "office": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "mode": {"enum": ["in_person", "video"]},
                "status": {"enum": ["booked", "cancelled"]}, "channel": {"type": "string"},
                "citizen": {"type": "object", "properties": {"name": {"type": "string"}}}}},
        },
    },
}
