"""TwiML for the line: a `Turn` as `<Say>` inside a `<Gather>` (speech and keys, with hints
for speech recognition), a `<Dial>` to the office, or a goodbye and `<Hangup>`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twilio.twiml.voice_response import VoiceResponse

from assistant.plugin import t

from .settings import LANG_CODE, PATH, VoiceSettings
from .speech import alphabet
from .turns import Turn

if TYPE_CHECKING:
    from assistant.plugin import Config


class TwimlWriter:
    """Writes `Turn`s as TwiML with this office's settings (voices, timeouts, speech hints)."""

    def __init__(self, config: Config, settings: VoiceSettings) -> None:
        self.config = config
        self.settings = settings
        self.hints = {lang: ", ".join(hints(config, lang)) for lang in LANG_CODE}

    def url(self, turn_no: int, event: str | None = None) -> str:
        query = f"?t={turn_no}" + (f"&ev={event}" if event else "")
        return self.config.server.base_url + PATH + query

    def _say(self, parent: Any, text: str, lang: str) -> None:
        voice = self.settings.voice_en if lang == "en" else self.settings.voice_de
        parent.say(text, language=LANG_CODE.get(lang, "de-DE"), **({"voice": voice} if voice
                                                                   else {}))

    def _says(self, parent: Any, turn: Turn) -> None:
        """One `<Say>` per run of sentences in the same language."""
        runs: list[tuple[str, str]] = []
        for text, lang in turn.say:
            if runs and runs[-1][1] == lang:
                runs[-1] = (f"{runs[-1][0]} {text}", lang)
            else:
                runs.append((text, lang))
        for text, lang in runs:
            self._say(parent, text, lang)

    def twiml(self, turn: Turn, next_no: int) -> str:
        s = self.settings
        response = VoiceResponse()
        if turn.hangup:
            self._says(response, turn)
            response.hangup()
            return str(response)
        if turn.dial is not None:
            self._says(response, turn)
            number, _ = turn.dial
            response.dial(number, action=self.url(next_no, "dial"), method="POST",
                          timeout=s.dial_timeout_seconds)
            return str(response)
        action = self.url(next_no)
        gather = response.gather(
            input="speech dtmf", language=LANG_CODE.get(turn.lang, "de-DE"),
            hints=self.hints.get(turn.lang, self.hints["de"]),
            speech_timeout=s.speech_timeout, timeout=s.timeout_seconds, num_digits=1,
            action=action, method="POST", action_on_empty_result=True,
            **({"speech_model": s.speech_model} if s.speech_model else {}))
        self._says(gather, turn)
        response.redirect(action, method="POST")  # no input and no webhook: ask again
        return str(response)


def hints(config: Config, lang: str) -> list[str]:
    """Service and office names and aliases, and the words of the line, for Twilio's speech
    recognition (at most 500 phrases of at most 100 characters)."""
    seen: dict[str, None] = {}
    for item in [*config.services, *config.offices]:
        for phrase in (item.name.get(lang), *item.aliases):
            phrase = phrase.strip()[:100]
            if phrase and "," not in phrase:
                seen.setdefault(phrase, None)
    for phrase in (*t("voice.hints", lang).split(";"), *alphabet(lang).values()):
        seen.setdefault(phrase.strip(), None)
    return list(seen)[:500]
