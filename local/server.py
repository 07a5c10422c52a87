"""The HTTP side: a threading server on 127.0.0.1 (API Gateway serves requests concurrently, so
does this; the handlers themselves run one invocation at a time, local/functions.py says why),
reading each request into an IncomingRequest and writing the gateway's answer, with one log line
per request.

Made for a browser and a test runner to lean on: every method (TRACE and made-up ones too) goes to
the gateway, which answers in the contract's JSON; the server's own refusals (a malformed request
line, headers too long) are JSON too; each answer leaves in one write with TCP_NODELAY, so a kept-alive
connection never waits for the client's delayed ACK; the listen backlog takes a test runner's burst."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from local.config import HOST
from local.events import IncomingRequest
from local.gateway import MAX_REQUEST_BODY_BYTES, Outcome
from local.responses import HttpResponse
from local.template import ROOT

if TYPE_CHECKING:
    from local.gateway import LocalGateway

_CHUNK = 64 * 1024
# Bodies past API Gateway's limit are read and thrown away so the client sees the 413; past this
# much the connection is closed instead.
_DRAIN_LIMIT = 64 * 1024 * 1024
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}
_print_lock = threading.Lock()
# The local run's own documents (no route of the template): the API description, with CORS so that
# any tool or page can load it, and the browsable reference generated beside it (`make openapi`).
DOCUMENTS = {
    "/openapi.json": (ROOT / "docs" / "api" / "openapi.json", "application/json"),
    "/reference.html": (ROOT / "docs" / "api" / "reference.html", "text/html; charset=utf-8"),
}


def log(line: str, *, error: bool = False) -> None:
    with _print_lock:
        print(line, file=sys.stderr if error else sys.stdout, flush=True)


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True  # an in-flight request never keeps Ctrl+C from stopping the run
    request_queue_size = 128  # socketserver's 5 resets a burst of 20+ parallel clients

    def __init__(self, port: int, gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__((HOST, port), _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ciq-local-api"
    sys_version = ""
    server: LocalHttpServer

    def _serve(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        if path in DOCUMENTS and self.command in {"GET", "HEAD"}:
            self._read_body()
            response = _document(path)
            log(f"{self.command} {path} {response.status}  (docs/api{path})")
            self._write(response)
            return
        try:
            body = self._read_body()
            request = IncomingRequest(
                method=self.command,
                path=path or "/",
                query=query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            outcome = self.server.gateway.handle(request)
        except Exception:  # a bug in the local run must not leave the client hanging
            traceback.print_exc(file=sys.stderr)
            outcome = Outcome(
                _error(502, "internal_error", "the local run itself failed; its log has the traceback"),
                "the local run itself failed (traceback above)",
            )
        # Logged before the answer is written, so the line is there once a client has its answer.
        _log_request(self.command, path, outcome, (time.monotonic() - started) * 1000)
        self._write(outcome.response)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str) -> object:
        """`do_<METHOD>` for every method, so that API Gateway's rules (404, 405) answer, not http.server's
        HTML 501."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long), in the contract's JSON."""
        self.close_connection = True
        text = message or self.responses.get(code, ("the request could not be read",))[0]
        code_name = "payload_too_large" if code in {413, 414, 431} else "invalid_request"
        self._write(_error(code, code_name, text))

    def _read_body(self) -> bytes:
        """The body, or its first MAX+1 bytes when it is larger (enough for the gateway's 413)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        kept = self.rfile.read(min(length, MAX_REQUEST_BODY_BYTES + 1))
        self._discard(length - len(kept))
        return kept

    def _read_chunked(self) -> bytes:
        kept = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(kept)
            chunk = self.rfile.read(size)
            self.rfile.readline()  # the CRLF after each chunk
            if len(kept) <= MAX_REQUEST_BODY_BYTES:
                kept.extend(chunk[: MAX_REQUEST_BODY_BYTES + 1 - len(kept)])

    def _discard(self, remaining: int) -> None:
        if remaining > _DRAIN_LIMIT:
            self.close_connection = True
            return
        while remaining > 0:
            read = len(self.rfile.read(min(_CHUNK, remaining)))
            if read == 0:
                return
            remaining -= read

    def _write(self, response: HttpResponse) -> None:
        """Status line, headers and body in one write (one segment for a small answer)."""
        reason = self.responses.get(response.status, ("",))[0]
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        lines += [f"{name}: {value}" for name, value in response.headers if name.lower() not in _HOP_BY_HOP]
        if response.status not in {204, 304}:  # answers that never have a body (RFC 9110)
            lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        try:
            self.wfile.write(head if getattr(self, "command", None) == "HEAD" else head + response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Silences http.server's own stderr line; _log_request prints a better one."""


def _error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body)


def _document(path: str) -> HttpResponse:
    """A file of docs/api/ as checked in (`make openapi` writes both from template.yaml and the models)."""
    file, content_type = DOCUMENTS[path]
    try:
        body = file.read_bytes()
    except OSError:
        return _error(404, "not_found", f"docs/api{path} is missing: run `make openapi`")
    headers = [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("Access-Control-Allow-Origin", "*"),
    ]
    return HttpResponse(200, headers, body)


def _log_request(method: str, path: str, outcome: Outcome, elapsed_ms: float) -> None:
    first, _, rest = outcome.note.partition("\n")
    suffix = f"  ({first})" if first else ""
    log(f"{method} {path} {outcome.response.status} {elapsed_ms:.0f}ms{suffix}")
    if rest:
        log(rest, error=True)
