"""A small HTTP server for ``/metrics`` that idle or slow clients cannot wear down.

prometheus-client's own server starts one thread per connection and answers every path, so
200 idle connections meant 200 threads and slowed a scrape to a second. Here one thread owns
every connection through a selector: it accepts, reads request headers without blocking, and
closes connections that stay idle or send nothing useful for :data:`IDLE_TIMEOUT_S`. Only a
complete request goes to a small fixed pool of workers, which render the metrics and send them.
When accepting fails for want of file descriptors, the listening socket is left out of the
selector for a growing pause (:data:`ACCEPT_BACKOFF_S`) instead of being retried in a tight loop.
Only ``GET``/``HEAD /metrics`` is served (404 for other paths, 405 for other methods); every
answer closes the connection (HTTP/1.0 style, which Prometheus handles).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("rigready.monitor.exporter")

#: A connection that has not sent a whole request after this long is closed.
IDLE_TIMEOUT_S = 10.0
#: Most connections held open at once; the oldest is dropped beyond it.
MAX_CONNECTIONS = 512
#: Worker threads rendering and sending responses.
WORKERS = 4
#: Longest request head read (a scrape sends a few hundred bytes).
MAX_HEAD_BYTES = 16 * 1024
#: Longest time sending one response may take.
SEND_TIMEOUT_S = 10.0
#: First and longest pause in accepting when the process is out of file descriptors (or the
#: system of memory for sockets): the pending connection stays in the backlog, so the selector
#: would report it ready at once, forever, and the loop would spin at 100% CPU.
ACCEPT_BACKOFF_S = (0.05, 2.0)
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class MetricsServer:
    """Serves one registry's ``/metrics`` on ``host:port`` from a background thread."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int, *,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, workers: int = WORKERS) -> None:
        """Bind and listen (nothing is answered until :meth:`start`).

        Raises:
            OSError: The address is in use or cannot be bound.
        """
        self.registry = registry
        self.idle_timeout_s = idle_timeout_s
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, port), family=family, backlog=128)
        self._sock.setblocking(False)
        self.port = int(self._sock.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ, None)
        self._open: dict[socket.socket, tuple[float, bytearray]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrics")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="metrics-server", daemon=True)
        #: While out of descriptors: when to listen again (None: listening) and the next pause.
        self._resume_at: float | None = None
        self._backoff_s = 0.0
        self.accept_pauses = 0

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def close(self) -> None:
        """Stop, close every connection and the listening socket."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for conn in list(self._open):
            self._drop(conn)
        self._selector.close()
        self._sock.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        name = self._sock.getsockname()
        return str(name[0]), int(name[1])

    @property
    def open_connections(self) -> int:
        """Connections waiting for their request (for tests and benchmarks)."""
        return len(self._open)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready = self._selector.select(timeout=0.25)
            except OSError:  # pragma: no cover - the selector was closed under us
                return
            now = time.monotonic()
            if self._resume_at is not None and now >= self._resume_at:
                self._resume_at = None
                self._selector.register(self._sock, selectors.EVENT_READ, None)
            for key, _ in ready:
                if key.data is None:
                    self._accept(now)
                else:
                    self._receive(key.fileobj, now)  # type: ignore[arg-type]
            for conn, (since, _) in list(self._open.items()):
                if now - since > self.idle_timeout_s:
                    self._drop(conn)

    def _accept(self, now: float) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # too many open files, ...: keep serving the others
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting(now, exc)
                else:
                    log.debug("accept failed: %s", exc)
                return
            self._backoff_s = 0.0
            conn.setblocking(False)
            if len(self._open) >= MAX_CONNECTIONS:
                oldest = min(self._open, key=lambda c: self._open[c][0])
                self._drop(oldest)
            self._open[conn] = (now, bytearray())
            self._selector.register(conn, selectors.EVENT_READ, "client")

    def _pause_accepting(self, now: float, exc: OSError) -> None:
        """Stop watching the listening socket for a while (doubling up to the longest pause);
        idle connections keep timing out meanwhile, which frees descriptors."""
        first, longest = ACCEPT_BACKOFF_S
        if self._backoff_s == 0.0:
            log.warning("metrics server: cannot accept connections (%s); pausing", exc.strerror)
        self._backoff_s = min(longest, max(first, 2 * self._backoff_s))
        self._resume_at = now + self._backoff_s
        self.accept_pauses += 1
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self._sock)

    def _receive(self, conn: socket.socket, now: float) -> None:
        try:
            chunk = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not chunk:
            self._drop(conn)
            return
        _since, head = self._open[conn]
        head += chunk
        if b"\r\n\r\n" not in head and b"\n\n" not in head:
            if len(head) > MAX_HEAD_BYTES:
                self._detach(conn)
                self._pool.submit(_answer, conn, None, self.registry)
            return
        self._detach(conn)
        self._pool.submit(_answer, conn, bytes(head), self.registry)

    def _detach(self, conn: socket.socket) -> None:
        self._open.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn)

    def _drop(self, conn: socket.socket) -> None:
        self._detach(conn)
        with contextlib.suppress(OSError):
            conn.close()


def _status(code: int, reason: str, body: bytes, content_type: str = "text/plain") -> bytes:
    return (f"HTTP/1.0 {code} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def response_for(head: bytes | None, registry: CollectorRegistry) -> bytes:
    """The whole HTTP response to a request head (None: the head was too long)."""
    if head is None:
        return _status(431, "Request Header Fields Too Large", b"request too large\n")
    line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _status(400, "Bad Request", b"bad request\n")
    method, target = parts[0], parts[1]
    if method not in ("GET", "HEAD"):
        return _status(405, "Method Not Allowed", b"only GET /metrics\n")
    try:
        path = urlsplit(target).path
    except ValueError:
        return _status(400, "Bad Request", b"bad request\n")
    if path != "/metrics":
        return _status(404, "Not Found", b"not found: only /metrics is served here\n")
    body = generate_latest(registry)
    answer = _status(200, "OK", body, CONTENT_TYPE_LATEST)
    return answer[:len(answer) - len(body)] if method == "HEAD" else answer


def _answer(conn: socket.socket, head: bytes | None, registry: CollectorRegistry) -> None:
    try:
        conn.setblocking(True)
        conn.settimeout(SEND_TIMEOUT_S)
        conn.sendall(response_for(head, registry))
    except Exception as exc:  # noqa: BLE001 - one client's failure must not stop the server
        log.debug("answering a scrape failed: %s", exc)
    finally:
        with contextlib.suppress(OSError):
            conn.close()
