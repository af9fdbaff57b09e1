"""Setting up and training Rasa: Python 3.10 discovery, model cache, CLI errors."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from assistant.nlu import rasa_runner
from assistant.nlu.rasa_runner import RasaSetupError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of config.yml and the training data, to change without touching the repo."""
    shutil.copy(ROOT / "config.yml", tmp_path / "config.yml")
    shutil.copytree(ROOT / rasa_runner.TRAIN_DIR, tmp_path / rasa_runner.TRAIN_DIR)
    return tmp_path


def test_finds_a_working_python_310() -> None:
    python = rasa_runner.find_python310()
    out = subprocess.run([python, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Python 3.10")


def test_no_python_310_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.delenv("AMTSBOTE_PYTHON310", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(rasa_runner, "_pyenv_versions", list)
    monkeypatch.setattr(rasa_runner, "_python_ok", lambda python, env=None: None)
    with pytest.raises(RasaSetupError) as err:
        rasa_runner.find_python310()
    assert "pyenv install 3.10" in str(err.value) and "uv python install 3.10" in str(err.value)
    assert "deadsnakes" in str(err.value)


def test_a_wrong_explicit_python_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_PYTHON310", "/usr/bin/true")
    with pytest.raises(RasaSetupError, match="AMTSBOTE_PYTHON310"):
        rasa_runner.find_python310()


def test_ensure_env_is_fast_when_rasa_is_installed() -> None:
    started = time.monotonic()
    assert rasa_runner.ensure_env(ROOT) == ROOT / rasa_runner.VENV_DIR
    assert time.monotonic() - started < 10


def test_model_hash_follows_data_and_pipeline_only(project: Path) -> None:
    config = project / "config.yml"
    first = rasa_runner.model_hash(config, project)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("hold_minutes: 5", "hold_minutes: 7"), encoding="utf-8")
    assert rasa_runner.model_hash(config, project) == first  # Amtsbote's keys do not count
    config.write_text(text.replace("epochs:", "epochs: 1 #"), encoding="utf-8")
    assert rasa_runner.model_hash(config, project) != first
    config.write_text(text, encoding="utf-8")
    greet = project / rasa_runner.TRAIN_DIR / "conversation.yml"
    greet.write_text(greet.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert rasa_runner.model_hash(config, project) != first


def test_cached_model_is_not_retrained(project: Path) -> None:
    config = project / "config.yml"
    cached = project / "models" / f"nlu-{rasa_runner.model_hash(config, project)}.tar.gz"
    cached.parent.mkdir()
    cached.write_bytes(b"model")
    model = rasa_runner.ensure_model(config, project)  # no Rasa venv in `project`: no training
    assert model.path == cached and model.trained_seconds is None


def test_rasa_config_keeps_only_rasa_keys(project: Path) -> None:
    keys = set(rasa_runner.rasa_config(project / "config.yml"))
    assert keys == {"recipe", "assistant_id", "language", "pipeline", "policies"}


def test_cli_reports_setup_errors_in_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_python(root: Path) -> Path:
        raise RasaSetupError(rasa_runner.INSTALL_HINT)

    monkeypatch.setattr(rasa_runner, "ensure_env", no_python)
    assert rasa_runner.main(["--config", str(project / "config.yml"), "train"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Rasa needs Python 3.10") and "Traceback" not in err
