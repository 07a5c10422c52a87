"""The local run's console: one readable line per request. The functions' own JSON (Powertools log
records, EMF metrics, audit records) goes to a file instead (`functions.log` in the state folder);
a warning or an error among them is also shown on the console as one short line. LOCAL_LOG=json
leaves stdout alone (everything on the console, as in CloudWatch)."""

from __future__ import annotations

import io
import json
import threading
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_SHOWN_LEVELS = {"WARNING", "ERROR", "CRITICAL"}


class ReadableConsole(io.TextIOBase):
    """A stdout replacement: JSON lines to `log_file`, everything else to `console`. Lines are
    assembled per thread, since print() writes a line and its newline separately."""

    def __init__(self, console: IO[str], log_file: IO[str]) -> None:
        self._console = console
        self._log_file = log_file
        self._local = threading.local()
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending = getattr(self._local, "pending", "") + text
        *lines, self._local.pending = pending.split("\n")
        for line in lines:
            self._route(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._console.flush()
            self._log_file.flush()

    def _route(self, line: str) -> None:
        record = _json_object(line)
        with self._lock:
            if record is None:
                self._console.write(line + "\n")
                self._console.flush()
                return
            self._log_file.write(line + "\n")
            self._log_file.flush()
            level = str(record.get("level", "")).upper()
            if level in _SHOWN_LEVELS:
                where = record.get("service") or "function"
                self._console.write(f"  [{level.lower()}] {where}: {record.get('message', '')}\n")
                self._console.flush()


def _json_object(line: str) -> dict[str, object] | None:
    if not line.startswith("{"):
        return None
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def open_log(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")
