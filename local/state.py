"""The local run's state folder (`.local-state/`, git-ignored; LOCAL_STATE_DIR moves it): the
DynamoDB Local database files and the secrets generated once with it, so that accounts, data and
sessions survive a restart. One local run uses a folder at a time (a lock file says which).

    .local-state/
      secrets.json     {"accessKeyId": ..., "authSecret": ...}  (mode 0600)
      dynamodb/        DynamoDB Local's -dbPath: <accessKeyId>_<region>.db
      dynamodb.log     the engine's own output
      lock             held by the running local run (its pid inside)"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from local.config import LocalRunError

if TYPE_CHECKING:
    from pathlib import Path


def new_auth_secret() -> str:
    """The SSM SecureString value format (docs/ops/environment-and-secrets.md): the active key id,
    the HMAC keys by id (base64url of 32 random bytes) and the pepper for hashing emails/codes."""
    return json.dumps({"activeKid": "local-1", "keys": {"local-1": _random_key()}, "pepper": _random_key()})


def _random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class LocalState:
    folder: Path
    access_key_id: str  # DynamoDB Local keeps one database per access key id: this names ours
    auth_secret: str
    created: bool
    _lock: IO[str]

    @property
    def db_path(self) -> Path:
        return self.folder / "dynamodb"

    @property
    def engine_log(self) -> Path:
        return self.folder / "dynamodb.log"

    @classmethod
    def open(cls, folder: Path) -> LocalState:
        """Locks the folder for this process and reads its secrets, creating them the first time."""
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / "lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise LocalRunError(
                f"another local run (pid {holder}) is using {folder}; stop it, or give this one its own "
                "folder with LOCAL_STATE_DIR=…, or run it in memory with LOCAL_STORE=memory"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        secrets_file = folder / "secrets.json"
        created = not secrets_file.exists()
        if created:
            _write_private(
                secrets_file,
                json.dumps(
                    {"accessKeyId": "ciq" + secrets.token_hex(12), "authSecret": new_auth_secret()}, indent=2
                ),
            )
        try:
            stored = json.loads(secrets_file.read_text())
            return cls(folder, stored["accessKeyId"], stored["authSecret"], created, lock)
        except (ValueError, KeyError, TypeError) as error:
            lock.close()
            raise LocalRunError(f"{secrets_file} is damaged ({error}); `make wipe` starts afresh") from error

    def stop(self) -> None:
        self._lock.close()


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")


def wipe(folder: Path) -> bool:
    """Deletes the state folder unless a local run holds it. True when something was deleted."""
    if not folder.exists():
        return False
    state = LocalState.open(folder)  # raises while a run holds it
    state.stop()
    shutil.rmtree(folder)
    return True
