"""OpenAPI 3.1 description of Amtsbote's HTTP API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_STAFF = [{"staffToken": []}]
_ERR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


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
                     "security": _STAFF,
                     "responses": {"201": _ok({"$ref": "#/components/schemas/Appointment"}),
                                   "400": _ERR, "401": _ERR, "409": _ERR}}},
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
