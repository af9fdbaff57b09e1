"""The real Rasa NLU server, trained on the checkout's data (tests without it: ScriptedRasa).

`rasa_url` (session scope): the server at `$RASA_URL` if one answers there; otherwise the model
for the current training data is trained if needed (cached in `models/`) and `rasa run
--enable-api` is started on a free loopback port and stopped after the session. The Rasa venv
must exist (`amtsbote nlu setup`, done by CI before the tests); without it the tests fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from assistant.nlu import rasa_runner
from assistant.nlu.rasa_runner import RasaSetupError
from assistant.testing.harness import ROOT


@pytest.fixture(scope="session")
def rasa_url() -> Iterator[str]:
    external = os.environ.get("RASA_URL")
    if external:
        try:
            rasa_runner.wait_ready(external, timeout=5)
        except RasaSetupError:
            pass  # not answering: start our own below
        else:
            yield external
            return
    if rasa_runner.installed_rasa_version(ROOT) != rasa_runner.RASA_VERSION:
        pytest.fail(
            f"The Rasa venv {ROOT / rasa_runner.VENV_DIR} with rasa=={rasa_runner.RASA_VERSION}"
            " is missing. Run `amtsbote nlu setup` (or set RASA_URL to a running server).",
            pytrace=False,
        )
    try:
        model = rasa_runner.ensure_model(ROOT / "config.yml", ROOT)
        port = rasa_runner.free_port()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        server = rasa_runner.start_server(
            model.path, port=port, log_path=ROOT / "var" / f"rasa-test-{worker}.log", root=ROOT
        )
    except RasaSetupError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        server.wait_ready(timeout=420)
    except RasaSetupError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()
