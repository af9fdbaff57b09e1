"""Stored, revocable feed tokens for the staff calendar feed (`amtsbote feed-token`)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from assistant import cli
from assistant.storage.models import FeedToken
from assistant.testing import Harness
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parent.parent
STAFF = "staff-token-for-tests-0123456789"
PUBLIC = "https://termine.kreis-meissen.example"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A config with a public URL and its own SQLite file, shared by the CLI and the app."""
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", STAFF)
    url = f"sqlite+aiosqlite:///{tmp_path}/feed.sqlite3"
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  url: {url}\nserver:\n  public_url: {PUBLIC}\n"
                      f"catalogue: {ROOT / 'catalogue.yml'}\n")
    return config, url


async def amtsbote(capsys: pytest.CaptureFixture[str], config: Path, *args: str
                   ) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["-c", str(config), "feed-token", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def token_of(out: str) -> tuple[str, str]:
    [url] = [line for line in out.splitlines() if line.startswith("https://")]
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)["token"][0]


async def test_create_list_use_and_revoke(setup: tuple[Path, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config, url = setup
    code, out, _ = await amtsbote(capsys, config, "create", "--office", "meissen",
                                  "--label", "Outlook Team A")
    assert code == 0 and f"{PUBLIC}/api/v1/offices/meissen/appointments.ics?token=" in out
    path, token = token_of(out)
    assert len(token) >= 40 and STAFF not in out
    code, out, _ = await amtsbote(capsys, config, "create", "--office", "riesa")
    _, riesa_token = token_of(out)

    async with Harness(config, database_url=url, now=NOW) as h:
        async with h.ctx.db() as session:
            rows = list(await session.scalars(select(FeedToken).order_by(FeedToken.id)))
        assert [(r.office_id, r.label) for r in rows] == [("meissen", "Outlook Team A"),
                                                           ("riesa", None)]
        # Only the hash is stored.
        assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert all(token not in str(vars(r)) for r in rows)
        client = await h.http()
        resp = await client.get(f"{path}?token={token}")
        assert resp.status == 200 and resp.content_type == "text/calendar"
        assert (await client.get(f"{path}?token={riesa_token}")).status == 401
        # The staff token: in the header as before, never in the URL.
        assert (await client.get(path, headers={"Authorization": f"Bearer {STAFF}"})).status == 200
        refused = await client.get(f"{path}?token={STAFF}")
        assert refused.status == 400 and "Authorization" in (await refused.json())["error"]
        # Tokens older versions derived from the staff token are refused with a hint.
        derived = hmac.new(STAFF.encode(), b"appointments.ics:meissen",
                           hashlib.sha256).hexdigest()[:32]
        old = await client.get(f"{path}?token={derived}")
        assert old.status == 401 and "feed-token create" in (await old.json())["error"]

    code, out, _ = await amtsbote(capsys, config, "list")
    assert code == 0 and token not in out and riesa_token not in out
    lines = out.splitlines()
    assert "last used" in lines[0] and "revoked" in lines[0]
    meissen_line = next(line for line in lines if "Outlook Team A" in line)
    assert "meissen" in meissen_line and "2026-11-23 08:00" in meissen_line  # used at NOW (UTC)
    code, out, _ = await amtsbote(capsys, config, "list", "--office", "riesa")
    assert "riesa" in out and "Outlook" not in out

    code, out, _ = await amtsbote(capsys, config, "revoke", "1")
    assert code == 0 and "revoked" in out
    code, out, err = await amtsbote(capsys, config, "revoke", "99")
    assert code == 1 and "no feed token 99" in err
    code, out, _ = await amtsbote(capsys, config, "list")
    assert out.splitlines()[1].split()[-1] != "-"  # token 1: revoked at a time
    assert out.splitlines()[2].split()[-1] == "-"  # token 2: not revoked

    async with Harness(config, database_url=url, now=NOW) as h:
        client = await h.http()
        gone = await client.get(f"{path}?token={token}")
        assert gone.status == 401 and b"BEGIN:VCALENDAR" not in await gone.read()
        riesa = await client.get(f"/api/v1/offices/riesa/appointments.ics?token={riesa_token}")
        assert riesa.status == 200  # revoking one token leaves the others alone


async def test_create_refuses_an_unknown_office(setup: tuple[Path, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = setup
    code, out, err = await amtsbote(capsys, config, "create", "--office", "nowhere")
    assert code == 1 and "unknown office" in err and "token=" not in out
