"""Set up, train and run the Rasa NLU server from the core (Python 3.11; Rasa is never imported).

Rasa 3.6 needs Python 3.10, so it lives in its own venv `.venv-rasa` at the repository root and
runs as `rasa run --enable-api`. Models are cached in `models/` by a hash of everything that
changes them: the training files, the Rasa keys of config.yml and the Rasa version.
Rasa's telemetry is switched off for every command.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.config import RASA_KEYS

RASA_VERSION = "3.6.21"
VENV_DIR = ".venv-rasa"
TRAIN_DIR = Path("nlu_data/train")
TEST_DIR = Path("nlu_data/test")
MODELS_DIR = Path("models")
KEEP_MODELS = 5
INSTALL_HINT = """Rasa needs Python 3.10, and none was found. Install one, for example:
  pyenv install 3.10.13                         (pyenv)
  uv python install 3.10                        (uv)
  sudo add-apt-repository ppa:deadsnakes/ppa && sudo apt install python3.10 python3.10-venv
                                                (Ubuntu)
or point AMTSBOTE_PYTHON310 at a Python 3.10 interpreter."""


class RasaSetupError(RuntimeError):
    """Something the user has to fix (message says what); shown without a traceback."""


def rasa_env() -> dict[str, str]:
    """Environment for every Rasa command: telemetry off, quieter TensorFlow."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
    }


# -- Python 3.10 ------------------------------------------------------------------------------


def _python_ok(python: str, env: dict[str, str] | None = None) -> str | None:
    """The real interpreter path if `python` runs and is 3.10 (resolves pyenv shims)."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 10), sys.executable)"],
            capture_output=True, text=True, timeout=20, env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    ok, _, executable = out.stdout.strip().partition(" ")
    return executable if out.returncode == 0 and ok == "True" and executable else None


def _pyenv_versions() -> list[str]:
    roots = {Path("/root/.pyenv"), Path.home() / ".pyenv"}
    if os.environ.get("PYENV_ROOT"):
        roots.add(Path(os.environ["PYENV_ROOT"]))
    found = [p for root in roots for p in glob.glob(f"{root}/versions/3.10*/bin/python3.10")]
    return sorted(set(found), key=_version_key, reverse=True)


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parents[1].name  # versions/3.10.13/bin/python3.10 -> 3.10.13
    return tuple(int(p) if p.isdigit() else -1 for p in name.split("."))


def find_python310() -> str:
    """Path of a working Python 3.10 interpreter, or `RasaSetupError` saying what to install."""
    explicit = os.environ.get("AMTSBOTE_PYTHON310")
    if explicit:
        found = _python_ok(explicit)
        if not found:
            raise RasaSetupError(f"AMTSBOTE_PYTHON310={explicit} is not a working Python 3.10.")
        return found
    candidates: list[tuple[str, dict[str, str] | None]] = [(p, None) for p in _pyenv_versions()]
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append((on_path, None))
        # A pyenv shim only works with a version selected.
        for version_python in _pyenv_versions():
            version = Path(version_python).parents[1].name
            candidates.append((on_path, {**os.environ, "PYENV_VERSION": version}))
    candidates += [("/usr/bin/python3.10", None), ("/usr/local/bin/python3.10", None)]
    for python, env in candidates:
        found = _python_ok(python, env)
        if found:
            return found
    uv = shutil.which("uv")
    if uv:
        out = subprocess.run([uv, "python", "find", "3.10"], capture_output=True, text=True)
        found = _python_ok(out.stdout.strip()) if out.returncode == 0 else None
        if found:
            return found
    raise RasaSetupError(INSTALL_HINT)


# -- venv -------------------------------------------------------------------------------------


def rasa_bin(root: Path) -> Path:
    return root / VENV_DIR / "bin" / "rasa"


def installed_rasa_version(root: Path) -> str | None:
    python = root / VENV_DIR / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('rasa'))"],
        capture_output=True, text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_env(root: Path) -> Path:
    """`.venv-rasa` with rasa==3.6.21, created or repaired if needed; fast when present."""
    venv = root / VENV_DIR
    if installed_rasa_version(root) == RASA_VERSION:
        return venv
    if not (venv / "bin" / "python").exists():
        python = find_python310()
        print(f"Creating {venv} with {python} ...", flush=True)
        _run([python, "-m", "venv", str(venv)], "creating the Rasa venv")
    print(f"Installing rasa=={RASA_VERSION} into {venv} (about 2.7 GB, a few minutes) ...",
          flush=True)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", f"rasa=={RASA_VERSION}"],
         "installing Rasa")
    if installed_rasa_version(root) != RASA_VERSION:
        raise RasaSetupError(f"rasa=={RASA_VERSION} is still missing from {venv} after pip.")
    return venv


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, cwd=cwd, env=rasa_env())
    if result.returncode != 0:
        raise RasaSetupError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}")


# -- model ------------------------------------------------------------------------------------


def rasa_config(config_path: Path) -> dict[str, object]:
    """The Rasa keys of config.yml (language, pipeline, ...); Amtsbote's own keys are left out."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    return {k: data[k] for k in sorted(data) if k in RASA_KEYS}


def training_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / TRAIN_DIR).rglob("*") if p.suffix in {".yml", ".yaml"})


def model_hash(config_path: Path, root: Path) -> str:
    digest = hashlib.sha256()
    digest.update(RASA_VERSION.encode())
    digest.update(json.dumps(rasa_config(config_path), sort_keys=True).encode())
    for path in training_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One trainer at a time (parallel test runs, CLI and fixtures share `models/`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Model:
    path: Path
    trained_seconds: float | None  # None: taken from the cache


def write_rasa_config(config_path: Path, target: Path) -> Path:
    """Rasa cannot read config.yml itself (it rejects `${VAR:-default}`), so give it its keys."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(rasa_config(config_path), allow_unicode=True,
                                     sort_keys=False), encoding="utf-8")
    return target


def ensure_model(config_path: Path, root: Path) -> Model:
    """The trained model for the current data and pipeline, training it only when needed."""
    config_path = config_path.resolve()
    models = root / MODELS_DIR
    name = f"nlu-{model_hash(config_path, root)}"
    target = models / f"{name}.tar.gz"
    with _lock(models / ".train.lock"):
        if target.exists():
            return Model(target, None)
        if not rasa_bin(root).exists():
            raise RasaSetupError(f"{rasa_bin(root)} is missing: run `amtsbote nlu setup` first.")
        rasa_cfg = write_rasa_config(config_path, models / f".{name}.config.yml")
        print(f"Training NLU model {name} ...", flush=True)
        started = time.monotonic()
        try:
            _run([str(rasa_bin(root)), "train", "nlu", "-c", str(rasa_cfg), "--nlu",
                  str(root / TRAIN_DIR), "--out", str(models), "--fixed-model-name", name],
                 "training the NLU model", cwd=root)
        finally:
            rasa_cfg.unlink(missing_ok=True)
        seconds = time.monotonic() - started
        if not target.exists():
            raise RasaSetupError(f"Rasa finished but {target} was not written.")
        print(f"Trained {target.name} in {seconds:.0f} s", flush=True)
        _prune(models, keep=target)
        return Model(target, seconds)


def _prune(models: Path, keep: Path) -> None:
    old = sorted(models.glob("nlu-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in [p for p in old if p != keep][KEEP_MODELS - 1:]:
        path.unlink(missing_ok=True)


# -- server -----------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 120.0, process: subprocess.Popen[bytes] | None = None,
               log_path: Path | None = None) -> None:
    """Block until Rasa answers a parse request (model loaded), or raise `RasaSetupError`."""
    deadline = time.monotonic() + timeout
    body = json.dumps({"text": "hallo"}).encode()
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RasaSetupError(f"Rasa exited with {process.returncode}.{_log_tail(log_path)}")
        request = urllib.request.Request(f"{url.rstrip('/')}/model/parse", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                if resp.status == 200 and json.load(resp).get("intent"):
                    return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.5)
    raise RasaSetupError(f"Rasa at {url} not ready after {timeout:.0f} s.{_log_tail(log_path)}")


def _log_tail(log_path: Path | None, lines: int = 15) -> str:
    if log_path is None or not log_path.exists():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"\nLast lines of {log_path}:\n" + "\n".join(tail)


@dataclass
class RasaServer:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def wait_ready(self, timeout: float = 120.0) -> None:
        wait_ready(self.url, timeout, self.process, self.log_path)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(model: Path, host: str = "127.0.0.1", port: int = 5005,
                 log_path: Path | None = None, root: Path | None = None) -> RasaServer:
    """Start `rasa run --enable-api` with `model`; call `.wait_ready()` then `.stop()`."""
    root = root or Path.cwd()
    log_path = log_path or root / "var" / f"rasa-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(rasa_bin(root)), "run", "--enable-api", "-m", str(model), "-i", host,
           "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=root, env=rasa_env(), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return RasaServer(process, f"http://{host}:{port}", log_path)


# -- CLI --------------------------------------------------------------------------------------


def config_and_root(args: argparse.Namespace) -> tuple[Path, Path]:
    config = Path(getattr(args, "config", None) or os.environ.get("AMTSBOTE_CONFIG",
                                                                   "config.yml")).resolve()
    return config, config.parent


def _friendly(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Report `RasaSetupError` as one line on stderr and exit code 2, not as a traceback."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except RasaSetupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper


@_friendly
def cli_setup(args: argparse.Namespace) -> int:
    _, root = config_and_root(args)
    venv = ensure_env(root)
    print(f"Rasa {RASA_VERSION} ready in {venv}")
    return 0


@_friendly
def cli_train(args: argparse.Namespace) -> int:
    config, root = config_and_root(args)
    ensure_env(root)
    model = ensure_model(config, root)
    if model.trained_seconds is None:
        print(f"Model up to date: {model.path}")
    return 0


@_friendly
def cli_serve(args: argparse.Namespace) -> int:
    config, root = config_and_root(args)
    ensure_env(root)
    model = ensure_model(config, root)
    server = start_server(model.path, args.host, args.port, root=root)
    print(f"Rasa starting on {server.url} (log: {server.log_path}) ...", flush=True)
    try:
        server.wait_ready()
        print(f"Rasa ready on {server.url}; Ctrl-C stops it.", flush=True)
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


@_friendly
def cli_evaluate(args: argparse.Namespace) -> int:
    from assistant.nlu import evaluate  # evaluate uses this module; imported on use

    return evaluate.run(args)


def add_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `setup`, `train`, `serve`, `evaluate` (each sets `func(args) -> exit code`)."""
    sub = subparsers.add_parser("setup", help=f"create {VENV_DIR} with rasa=={RASA_VERSION}")
    sub.set_defaults(func=cli_setup)
    sub = subparsers.add_parser("train", help="train the NLU model if data or pipeline changed")
    sub.set_defaults(func=cli_train)
    sub = subparsers.add_parser("serve", help="run the Rasa NLU server (trains first if needed)")
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=5005)
    sub.set_defaults(func=cli_serve)
    sub = subparsers.add_parser("evaluate", help="score the model on the held-out test set")
    sub.add_argument("--url", help="use this running Rasa server instead of starting one")
    sub.add_argument("--cross-validation", action="store_true",
                     help="also run `rasa test nlu --cross-validation` on the training data")
    sub.add_argument("--folds", type=int, default=5)
    sub.add_argument("--verbose", action="store_true", help="list every misclassified example")
    sub.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    sub.set_defaults(func=cli_evaluate)


def main(argv: list[str] | None = None) -> int:
    """`python -m assistant.nlu.rasa_runner setup|train|serve|evaluate` (same as `amtsbote nlu`)."""
    parser = argparse.ArgumentParser(prog="amtsbote nlu")
    parser.add_argument("--config", help="config.yml (default: $AMTSBOTE_CONFIG or ./config.yml)")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
