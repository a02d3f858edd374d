"""Slow and hostile HTTP servers on 127.0.0.1, for every network client rigready has.

:func:`serve` runs a tiny HTTP/1.1 server whose answer to each request comes from a route
function ``(method, path) -> Reply``. A :class:`Reply` can drip its head or body one byte at a
time, never answer, send fewer bytes than its ``Content-Length`` says (truncated), announce a
huge length, redirect, or send anything at all as the body. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Reply:
    """One answer. ``drip_s``: seconds between bytes (head and body, or the body alone with
    ``drip_body_only``); ``never``: accept and say nothing; ``length``: the Content-Length to
    announce (default: the body's; -1: none, the body ends at close); ``send``: how many body
    bytes to send (default all; fewer = truncated)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float = 0.0
    drip_body_only: bool = False
    never: bool = False
    length: int | None = None
    send: int | None = None
    #: Zero bytes streamed after ``body`` without holding them in memory (a huge answer).
    zeros: int = 0


Route = Callable[[str, str], Reply]


@dataclass
class Served:
    """A running server: its base URL and the requests it saw, ``(method, path)``."""

    url: str
    requests: list[tuple[str, str]]
    stop: threading.Event


def _reason(status: int) -> str:
    return {200: "OK", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
            401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")


def _read_head(sock: socket.socket) -> tuple[str, str, int] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*lines[0].split(" "), "", ""][:3]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    remaining = length - len(rest)
    while remaining > 0:  # a POST body (the offers query)
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    return method, path, length


def _send(sock: socket.socket, data: bytes, drip_s: float, stop: threading.Event) -> bool:
    if drip_s <= 0:
        sock.sendall(data)
        return True
    for i in range(len(data)):
        if stop.wait(drip_s):
            return False
        sock.sendall(data[i:i + 1])
    return True


@contextlib.contextmanager
def serve(route: Route) -> Iterator[Served]:
    """Serve ``route`` on a free port of 127.0.0.1 for the block (keep-alive off)."""
    requests: list[tuple[str, str]] = []
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            with contextlib.suppress(OSError, ValueError):
                head = _read_head(sock)
                if head is None:
                    return
                method, path, _ = head
                requests.append((method, path))
                reply = route(method, path)
                if reply.never:
                    stop.wait(120)
                    return
                body = reply.body
                length = reply.length if reply.length is not None else len(body)
                lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", "Connection: close"]
                if length >= 0:  # -1: no length, the body ends when the connection closes
                    lines.append(f"Content-Length: {length}")
                lines += [f"{k}: {v}" for k, v in reply.headers.items()]
                raw_head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                head_drip = 0.0 if reply.drip_body_only else reply.drip_s
                if not _send(sock, raw_head, head_drip, stop):
                    return
                if method == "HEAD":
                    return
                sent = body if reply.send is None else body[:reply.send]
                _send(sock, sent, reply.drip_s, stop)
                left = reply.zeros
                while left > 0 and not stop.is_set():
                    sock.sendall(bytes(min(left, 1 << 16)))
                    left -= 1 << 16
                if reply.send is not None or length < 0:
                    sock.shutdown(socket.SHUT_RDWR)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        block_on_close = False

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", requests, stop)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def json_reply(payload: object, **kwargs: object) -> Reply:
    """``payload`` as a JSON answer."""
    return Reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                 **kwargs)  # type: ignore[arg-type]


def hub_file(body: bytes, *, etag: bool = True, commit: bool = True, **kwargs: object) -> Reply:
    """A Hub ``resolve`` answer for a small file: the headers huggingface_hub checks."""
    headers = {"Content-Type": "application/octet-stream"}
    if commit:
        headers["X-Repo-Commit"] = COMMIT
    if etag:
        headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()}"'
    return Reply(200, body, headers, **kwargs)  # type: ignore[arg-type]


def hub_route(config: bytes, info: object, *, config_reply: Reply | None = None,
              info_reply: Reply | None = None) -> Route:
    """A Hub that serves ``config`` as every repo's config.json and ``info`` as its model
    info; either can be replaced by a hostile reply."""

    def route(method: str, path: str) -> Reply:
        if path.startswith("/api/models/"):
            return info_reply or json_reply(info)
        if "/resolve/" in path and path.endswith("/config.json"):
            return config_reply or hub_file(config)
        return Reply(404, b"{}", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})

    return route


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result or the exception raised)."""
    started = time.monotonic()
    try:
        result: object = fn()
    except Exception as exc:  # noqa: BLE001 - the caller inspects it
        result = exc
    return time.monotonic() - started, result


def closed_port() -> int:
    """A local port nothing listens on (bound, then closed): a connection there is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port
