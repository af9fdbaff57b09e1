"""config.yml: the demo catalogue loads, and mistakes are reported with key, file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.booking.slots import candidate_starts
from assistant.config import Closure, ConfigError, load_config

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


def test_commands_print_their_output_and_no_migration_log(tmp_path: Path) -> None:
    path = _write(tmp_path, f"storage:\n  url: sqlite+aiosqlite:///{tmp_path}/a.sqlite3\n"
                            "catalogue: catalogue.yml\n")
    cli = [sys.executable, "-m", "assistant.cli", "-c", str(path)]
    out = subprocess.run([*cli, "stats"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and json.loads(out.stdout)["kinds"] == {}
    verbose = subprocess.run([*cli, "-v", "db", "upgrade"], capture_output=True, text=True,
                             check=False)
    assert verbose.returncode == 0 and "alembic.runtime.migration" in verbose.stderr


# -- closures ----------------------------------------------------------------------------------


def test_the_demo_christmas_closure_comes_back_every_year() -> None:
    riesa = load_config(ROOT / "config.yml").office("riesa")
    assert riesa is not None
    for day in (date(2026, 12, 24), date(2027, 12, 27), date(2031, 12, 24), date(2031, 12, 31)):
        closed = riesa.closed_on(day)
        assert closed and closed.start == date(day.year, 12, 24), day
        assert closed.reason and closed.reason.de == "Betriebsruhe zum Jahreswechsel"
    for day in (date(2031, 12, 23), date(2032, 1, 2), date(2025, 12, 27)):
        assert riesa.closed_on(day) is None, day  # open; before 2026 the closure did not exist
    assert [(c.start, c.last) for c in riesa.closures_from(date(2031, 12, 28))] == [
        (date(2031, 12, 24), date(2031, 12, 31))]
    assert [(c.start, c.last) for c in riesa.closures_from(date(2032, 1, 1))] == [
        (date(2032, 12, 24), date(2032, 12, 31))]


def test_slot_search_skips_a_yearly_closure_in_any_year() -> None:
    cfg = load_config(ROOT / "config.yml")
    riesa, service = cfg.office("riesa"), cfg.service("personalausweis")
    assert riesa is not None and service is not None
    tz = riesa.tz
    frm = datetime(2031, 12, 20, tzinfo=tz)
    days = {s.date() for s in candidate_starts(riesa, service, cfg.booking, frm,
                                               frm + timedelta(days=20))}
    assert date(2031, 12, 23) in days and date(2032, 1, 2) in days  # Tuesday before, Friday after
    assert not [d for d in days if date(2031, 12, 24) <= d <= date(2032, 1, 1)]  # 1.1.: holiday


def test_a_yearly_closure_can_span_the_year_end() -> None:
    c = Closure(start=date(2026, 12, 28), end=date(2027, 1, 2), every="year")
    for day in (date(2026, 12, 28), date(2027, 1, 2), date(2031, 12, 31), date(2032, 1, 1),
                date(2032, 1, 2)):
        assert c.on(day), day
    for day in (date(2026, 1, 1), date(2031, 12, 27), date(2032, 1, 3)):
        assert c.on(day) is None, day
    nxt = c.next_from(date(2031, 6, 1))
    assert nxt and (nxt.start, nxt.last) == (date(2031, 12, 28), date(2032, 1, 2))
    once = Closure(start=date(2026, 12, 28), end=date(2027, 1, 2))
    assert once.on(date(2027, 1, 1)) and once.on(date(2031, 12, 31)) is None
    assert once.next_from(date(2027, 1, 3)) is None


@pytest.mark.parametrize(("closure", "message"), [
    ("{start: 2026-12-24, end: 2026-12-31, every: month}",
     r"closures\.0\.every: Input should be 'year'"),
    ("{start: 12-24, end: 12-31, every: year}", r"closures\.0\.start: '12-24' has no year"),
    ("{start: 2026-12-31, end: 2026-12-24}", r"closures\.0: closure ends \(2026-12-24\) before"),
    ("{start: 2026-01-01, end: 2027-01-01, every: year}", r"shorter than a year"),
    ("{start: 2028-02-29, every: year}", r"29 February"),
])
def test_a_wrong_closure_is_a_config_error_with_file_and_line(
        tmp_path: Path, closure: str, message: str) -> None:
    path = _write(tmp_path, "catalogue: catalogue.yml\n")
    cat = tmp_path / "catalogue.yml"
    text = cat.read_text()
    start = text.index("    closures:\n      - {start: 2026-12-24")
    end = text.index("\n", text.index("      - {", start)) + 1
    cat.write_text(text[:start] + f"    closures:\n      - {closure}\n" + text[end:])
    line = next(i for i, ln in enumerate(cat.read_text().splitlines(), 1) if closure in ln)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    assert str(err.value).startswith(f"{cat}:{line}: offices.0.closures.0")
