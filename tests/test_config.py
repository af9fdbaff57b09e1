"""config.yml: the demo catalogue loads, and mistakes are reported with key, file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"personalausweis", "reisepass", "wohnsitz_anmeldung", "meldebescheinigung",
            "fuehrungszeugnis", "kfz_zulassung", "kfz_abmeldung", "fuehrerschein", "wohngeld",
            "aufenthaltstitel", "gewerbeanmeldung", "beglaubigung"}


def test_demo_catalogue_has_the_contracted_ids() -> None:
    cfg = load_config(ROOT / "config.yml")
    assert {o.id for o in cfg.offices} == {"meissen", "riesa", "grossenhain", "radebeul", "coswig"}
    assert {s.id for s in cfg.services} == SERVICES
    # Vehicle services only where there is a vehicle registration office.
    assert {o.id for o in cfg.offices_for("kfz_zulassung")} == {"meissen", "riesa", "grossenhain"}
    assert cfg.rasa["pipeline"], "Rasa's pipeline stays in the same file"


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "catalogue.yml").write_text((ROOT / "catalogue.yml").read_text())
    path = tmp_path / "config.yml"
    path.write_text(body)
    return path


def test_unknown_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "storage:\n  url: sqlite+aiosqlite:///x.db\nnlu:\n  timeout_secs: 3\n"
                            "catalogue: catalogue.yml\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:4: nlu.timeout_secs: unknown key" in str(err.value)


def test_error_inside_the_catalogue_points_into_the_catalogue(tmp_path: Path) -> None:
    path = _write(tmp_path, "catalogue: catalogue.yml\n")
    cat = tmp_path / "catalogue.yml"
    text = cat.read_text().replace("duration_minutes: 20", "duration_minutes: 22", 1)
    cat.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "duration_minutes: 22" in ln)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{cat}:{line}: services.0.duration_minutes: multiple of 5" in str(err.value).replace(
        "duration_minutes must be a ", "")


def test_unknown_service_in_office(tmp_path: Path) -> None:
    path = _write(tmp_path, "catalogue: catalogue.yml\n")
    cat = tmp_path / "catalogue.yml"
    cat.write_text(cat.read_text().replace("services: [personalausweis, reisepass, wohnsitz_anm",
                                           "services: [perso, reisepass, wohnsitz_anm", 1))
    with pytest.raises(ConfigError, match=r"offices\.0\.services\.0: unknown service id 'perso'"):
        load_config(path)


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "plugins:\n  jitsi:\n    base_url: ${JITSI_URL}\n"
                            "catalogue: catalogue.yml\n")
    with pytest.raises(ConfigError, match=r":3: plugins\.jitsi\.base_url: environment variable "
                                          r"JITSI_URL is not set"):
        load_config(path)
    monkeypatch.setenv("JITSI_URL", "https://video.example.org")
    assert load_config(path).plugins["jitsi"]["base_url"] == "https://video.example.org"


def test_check_config_prints_what_is_enabled_and_fails_cleanly(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "assistant.cli", "-c", str(ROOT / "config.yml"),
                         "check-config"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "office riesa" in ok.stdout
    assert "rest" in next(ln for ln in ok.stdout.splitlines() if "channels:" in ln)
    bad = _write(tmp_path, "server:\n  port: eighty\ncatalogue: catalogue.yml\n")
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "-c", str(bad), "check-config"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert f"{bad}:2: server.port" in out.stderr
    assert "Traceback" not in out.stderr
