"""German (and English) phone line over Twilio Voice: `POST /webhooks/twilio/voice`.

Each webhook is signed (403 otherwise) and answered with TwiML: `<Say>` inside a
`<Gather input="speech dtmf" language="de-DE" hints="…">` whose hints are the catalogue's
service and office names. The caller talks to the same dialogue as every channel (sender =
caller number + CallSid, one conversation per call), spoken: one question at a time, at most
three options read out with a key each, dates and times as people say them, the reference
spelled with the DIN 5009 alphabet.

Keys and words that work at every step: `*` / "wiederholen" repeats, `0` / "Mitarbeiter"
puts the caller through to the office (`<Dial>`) while it is open and otherwise offers a call
back, `9` switches between German and English. Silence re-prompts twice, then offers staff.
Speech below `low_confidence` is confirmed before it is acted on. After a booking a mobile
caller gets the confirmation by SMS (`send_sms` hook, from the outbox); otherwise the reference
is read out twice. `amtsbote voice preview` renders a sample call to a WAV file (espeak-ng).

The package, module by module:

- `plugin`: the plugin object `Voice` — the webhooks and the hooks;
- `settings`: `VoiceSettings` (`channels.voice`) and the webhook paths;
- `call`: one call between webhooks — `CallState` (what is remembered) and `Call` (the keys
  and words of every step, the line's own yes/no questions, staff transfer and call-back);
- `turns`: the dialogue's replies as one spoken `Turn` with numbered options;
- `speech`: dates, times and reference codes as spoken, chat texts made speakable;
- `twiml`: `TwimlWriter`, a turn as TwiML;
- `sms_confirmations`: the confirmation and reminders by SMS;
- `preview`: `amtsbote voice preview` (espeak-ng).
"""

from .plugin import Voice
from .settings import VoiceSettings

__all__ = ["Voice", "VoiceSettings"]
