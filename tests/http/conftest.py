"""Starting the local API the way a developer does (`python -m local` in a fresh process with a
clean environment) and talking to it over real HTTP on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.http.throwaway_stack import write_throwaway_stack

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"http://localhost:(\d+)")
START_TIMEOUT_SECONDS = 60
# Only what a process needs to run; nothing from the test process's AWS or app settings leaks in.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "SYSTEMROOT")


# Every module here: `pytestmark = LOOPBACK_ONLY` (HTTP to 127.0.0.1 and nothing else).
LOOPBACK_ONLY = [pytest.mark.http, pytest.mark.allow_hosts(["127.0.0.1"])]


@dataclass
class LocalServer:
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: object) -> httpx.Client:
        # trust_env=False: no proxy variable may send a request anywhere but this server.
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30, **kwargs)  # type: ignore[arg-type]

    def output(self) -> str:
        return "".join(self.stdout)

    def errors(self) -> str:
        return "".join(self.stderr)

    def wait_for_error(self, text: str, timeout: float = 5.0) -> bool:
        """stderr is drained by a thread: a line written just before a response may arrive after it."""
        return self._wait_for(self.errors, text, timeout)

    def wait_for_output(self, text: str, timeout: float = 5.0) -> bool:
        """The same for stdout (the request log lines)."""
        return self._wait_for(self.output, text, timeout)

    @staticmethod
    def _wait_for(read: Callable[[], str], text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text not in read():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """In memory (LOCAL_STORE=memory) with a state folder of its own unless `extra` says otherwise:
    never the developer's `.local-state/`, and never one shared by two test processes."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "LOCAL_STORE": "memory"})
    env["LOCAL_STATE_DIR"] = tempfile.mkdtemp(prefix="ciq-local-state-")
    env.update(extra)
    return env


def launch(env: dict[str, str], template: Path | None = None) -> LocalServer:
    """Starts `python -m local`; returns once it printed its URL (or failed)."""
    command = [sys.executable, "-m", "local"] + (["--template", str(template)] if template else [])
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    server = LocalServer(process=process)
    assert process.stdout is not None
    assert process.stderr is not None
    _drain(process.stdout, server.stdout)
    _drain(process.stderr, server.stderr)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = READY.search(server.output())
        if found:
            server.port = int(found.group(1))
            return server
        if process.poll() is not None:
            time.sleep(0.2)  # let the readers collect the last lines
            return server
        time.sleep(0.05)
    server.stop()
    pytest.fail(f"the local API did not start in {START_TIMEOUT_SECONDS} s:\n{server.errors()}")


def _drain(stream: object, into: list[str]) -> None:
    """Reads a pipe on a thread, so the server never blocks on a full pipe."""

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)

    threading.Thread(target=read, daemon=True).start()


def started(env: dict[str, str], template: Path | None = None) -> LocalServer:
    server = launch(env, template)
    if not server.port:
        pytest.fail(f"the local API exited with {server.process.returncode}:\n{server.errors()}")
    return server


@dataclass
class Throwaway:
    server: LocalServer
    authorizer_log: Path
    outbox: Path

    def authorizer_events(self) -> list[dict[str, object]]:
        if not self.authorizer_log.exists():
            return []
        return [json.loads(line) for line in self.authorizer_log.read_text().splitlines()]


@pytest.fixture(scope="session")
def throwaway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throwaway]:
    """The local API serving the throwaway stack (tests/http/throwaway_stack.py)."""
    directory = tmp_path_factory.mktemp("throwaway")
    template = write_throwaway_stack(directory / "stack")
    authorizer_log = directory / "authorizer.jsonl"
    outbox = directory / "outbox.jsonl"
    env = clean_env(PORT="0", AUTHORIZER_LOG=str(authorizer_log), LOCAL_OUTBOX_PATH=str(outbox))
    server = started(env, template)
    yield Throwaway(server=server, authorizer_log=authorizer_log, outbox=outbox)
    server.stop()


@pytest.fixture(scope="session")
def real_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throwaway]:
    """The local API serving the real template.yaml and functions, as `make run` does: on DynamoDB
    Local with a state folder on disk."""
    directory = tmp_path_factory.mktemp("real")
    outbox = directory / "outbox.jsonl"
    state = str(directory / "state")
    env = clean_env(PORT="0", LOCAL_OUTBOX_PATH=str(outbox), LOCAL_STORE="disk", LOCAL_STATE_DIR=state)
    server = started(env)
    yield Throwaway(server=server, authorizer_log=directory / "unused", outbox=outbox)
    server.stop()
