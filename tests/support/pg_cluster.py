"""A private PostgreSQL cluster a test may stop and start (the shared server is never touched).

`pg_cluster` (module scope): `initdb` into a temporary directory owned by the `postgres` system
user, then `pg_ctl start` on a free loopback port with its socket in that directory. The test
gets a `PgCluster` with `.url` (asyncpg, database `postgres`, trust auth) and `.stop()` /
`.start()`; the cluster is stopped and deleted afterwards. Skipped where PostgreSQL's server
binaries or the `postgres` user are missing (a laptop without a local PostgreSQL install).
Commands run as `postgres` through `runuser` when the tests run as root, else directly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.testing import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgCluster:
    bin: Path
    dir: Path
    port: int
    user: str | None  # run the server as this system user (when the tests run as root)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n"
                               f"{out.stdout[-2000:]}{out.stderr[-2000:]}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale", "C")

    def start(self) -> None:
        """Start the server and wait until it accepts connections (`pg_ctl -w`)."""
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l",
                  str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session (as for maintenance), `immediate` is a
        crash."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "-t", "60", "stop")

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if (
            path.exists()) else ""


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip("a private PostgreSQL cluster needs PostgreSQL's initdb and pg_ctl")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, a private PostgreSQL cluster needs a `postgres` user")
    base = Path(tempfile.mkdtemp(prefix="amtsbote-pg-"))
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
    cluster = PgCluster(bin_dir, base, free_port(), user.pw_name if user else None)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        # Not running is fine (a test may leave it stopped).
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
