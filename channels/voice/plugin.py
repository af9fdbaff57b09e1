"""The phone line as a plugin: its two Twilio webhooks (a call's turns, its status) and its
hooks (SMS after a booking, reminders, `amtsbote voice preview`, its texts)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from assistant.plugin import (
    ConfigError,
    Plugin,
    Reply,
    hookimpl,
    is_mobile,
    json_error,
    signed_form,
    twiml_response,
)

from . import preview
from .call import Call, CallState
from .settings import NAME, PATH, STATUS_PATH, VoiceSettings
from .sms_confirmations import caller, confirm_by_sms, deliver_by_sms
from .speech import collapse_spelled
from .twiml import TwimlWriter

if TYPE_CHECKING:
    from assistant.plugin import AppointmentView, Context, Incoming

HERE = Path(__file__).parent
ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}


class Voice(Plugin):
    """The phone line of one running app (Twilio Voice)."""

    settings_model = VoiceSettings
    settings: VoiceSettings

    @hookimpl
    def read_incoming(self, msg: Incoming) -> str | None:
        """A reference code the caller spelled becomes the code (also for callers' messages
        handed to the dialogue directly, e.g. by the conversation tests)."""
        if msg.channel != self.name or not msg.text or msg.text.startswith("/"):
            return None
        return collapse_spelled(msg.text, msg.language or "de")

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        s = self.settings
        if s.transfer_office and ctx.config.office(s.transfer_office) is None:
            raise ConfigError(f"{ctx.config.path}: channels.voice.transfer_office: unknown "
                              f"office {s.transfer_office!r}")
        writer = TwimlWriter(ctx.config, s)

        async def webhook(request: web.Request) -> web.Response:
            form = await signed_form(request, ctx, s.auth_token_env)
            if form is None:
                return json_error(403, "missing or invalid X-Twilio-Signature")
            sid = form.get("CallSid")
            if not sid or len(str(sid)) > 64:
                return json_error(400, "CallSid missing")
            try:
                turn_no = int(request.query.get("t", "0"))
            except ValueError:
                return json_error(400, "t must be a number")
            event = request.query.get("ev")
            state = CallState.load(await ctx.get_state(NAME, str(sid)) or {},
                                   ctx.config.default_language)
            delivery = f"{sid}:{turn_no}:{event or ''}"
            if not await ctx.first_delivery(NAME, delivery):
                stored = await ctx.delivery_response(NAME, delivery)
                if stored:
                    return twiml_response(stored["twiml"])
                call = Call(ctx, s, form, state)  # still being answered: ask the question again
                return twiml_response(writer.twiml(call.repeat(), state.turn + 1))
            call = Call(ctx, s, form, state)
            turn = await call.answer(event)
            state.turn = next_no = max(turn_no, state.turn) + 1
            if turn.fresh and not turn.hangup and turn.dial is None:
                call.remember(turn)
            answer = writer.twiml(turn, next_no)
            await ctx.set_state(NAME, str(sid), {} if turn.hangup else state.dump())
            await ctx.store_delivery_response(NAME, delivery, {"twiml": answer})
            return twiml_response(answer)

        async def status(request: web.Request) -> web.Response:
            """Twilio's call status callback: forget the call's state once it has ended."""
            form = await signed_form(request, ctx, s.auth_token_env)
            if form is None:
                return json_error(403, "missing or invalid X-Twilio-Signature")
            if form.get("CallSid") and form.get("CallStatus") in ENDED:
                await ctx.set_state(NAME, str(form["CallSid"]), {})
            return web.Response(status=204)

        app.router.add_post(PATH, webhook)
        app.router.add_post(STATUS_PATH, status)

    @hookimpl
    def notify(self, ctx: Context, event: str, appointment: AppointmentView,
               extra: dict[str, Any]) -> Awaitable[None] | None:
        """After a booking by phone, a mobile caller gets the confirmation by SMS."""
        if event != "booked" or appointment.channel != NAME:
            return None
        number = caller(appointment)
        if number is None or not is_mobile(number):
            return None
        return confirm_by_sms(ctx, appointment, number)

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str,
                replies: list[Reply]) -> Awaitable[bool] | None:
        """Reminders for appointments booked by phone go out by SMS to mobile callers."""
        if channel != NAME:
            return None
        return deliver_by_sms(ctx, recipient, replies)

    @hookimpl
    def register_commands(self, subparsers: argparse._SubParsersAction) -> None:
        preview.add_command(subparsers)

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        """Its texts, and the SMS channel's short forms for reminders sent by SMS."""
        return sorted([*(HERE / "locales").glob("voice.*.po"),
                       *(HERE.parent / "locales").glob("sms.*.po")])
