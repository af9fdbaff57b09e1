"""The phone line's settings (`channels.voice` in config.yml) and its addresses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = "voice"
PATH = "/webhooks/twilio/voice"
STATUS_PATH = "/webhooks/twilio/voice/status"
LANG_CODE = {"de": "de-DE", "en": "en-GB"}


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    default_region: str = "DE"
    # Speech recognised with less confidence than this is read back for a yes/no first.
    low_confidence: float = Field(default=0.5, ge=0, le=1)
    # Seconds to wait for the caller to start speaking or press a key.
    timeout_seconds: int = Field(default=6, ge=1, le=60)
    # Twilio's `speechTimeout`: "auto" or seconds; a `speech_model` needs seconds.
    speech_timeout: str = "auto"
    speech_model: str | None = None
    # Twilio voices (e.g. "Google.de-DE-Standard-A", "Polly.Vicki"); empty: Twilio's default.
    voice_de: str | None = None
    voice_en: str | None = None
    # Office whose phone takes transferred calls; default: the first one open with a phone.
    transfer_office: str | None = None
    dial_timeout_seconds: int = Field(default=25, ge=5, le=120)
    # Silent turns re-prompted before staff is offered.
    max_silence: int = Field(default=2, ge=1, le=5)
    # Whether a caller whose number (caller ID) matches an appointment's phone may hear, move
    # or cancel it without saying the last name. Caller ID can be spoofed: off by default, the
    # number then only fills in the contact of a booking (docs/twilio.md).
    caller_id_is_proof: bool = False

    @model_validator(mode="after")
    def _speech(self) -> VoiceSettings:
        if self.speech_timeout != "auto" and not self.speech_timeout.isdigit():
            raise ValueError('speech_timeout must be "auto" or a whole number of seconds')
        if self.speech_model and self.speech_timeout == "auto":
            raise ValueError('Twilio needs speech_timeout in seconds when speech_model is set '
                             '(speechTimeout="auto" only works without one)')
        return self
