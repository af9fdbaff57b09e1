"""The test kit, for Amtsbote's own tests and for plugin authors.

- `Harness`: the real application on a throwaway database, with a movable clock and
  `RecordingChannel` (channel `test`, which keeps what it was asked to deliver); `texts`,
  `buttons` and `button` read replies.
- `ScriptedRasa`: a stand-in for Rasa's HTTP API that answers from a dict of texts.
- `free_port`, `free_socket`, `serve(app)`: loopback ports and servers.
- `assistant.testing.peers`: real peers (Rasa, PostgreSQL, SMTP, CalDAV, Synapse, Chromium) and
  stand-ins for Telegram's and Twilio's APIs, each a pytest plugin module with its fixtures.
- `assistant.testing.fixtures`: the pytest plugin (entry point `pytest11`), installed with
  Amtsbote: the fixtures `amtsbote` (a Harness), `scripted_rasa`, `amtsbote_config`,
  `amtsbote_plugins`.

This package needs no pytest; `amtsbote dialogue evaluate` runs the conversation suites on it.
"""

from assistant.testing.harness import (
    BERLIN,
    DEFAULT_NOW,
    ROOT,
    Harness,
    RecordingChannel,
    button,
    buttons,
    texts,
)
from assistant.testing.net import free_port, free_socket, serve
from assistant.testing.rasa import ScriptedRasa

__all__ = ["BERLIN", "DEFAULT_NOW", "ROOT", "Harness", "RecordingChannel", "ScriptedRasa",
           "button", "buttons", "free_port", "free_socket", "serve", "texts"]
