"""Network calls with a total deadline and a byte limit: the one mechanism every client uses.

A socket timeout bounds each read, not the call: a server sending one byte every 3 s kept
``catalog update URL`` busy for minutes and ``estimate ORG/NAME`` for as long as it liked. Here a
call runs on a daemon thread that the caller waits for at most its deadline (name lookup,
connect, redirects, retries and the whole body included), and :class:`DeadlineError` names the
server that was too slow. The thread carries its :class:`Limits` (:func:`current_limits`), so the
readers in it (:func:`fetch_bytes`, the Hub client's bounded transport) stop at their next read
once the time is up and an abandoned call does not run on. Every answer is bounded in size
before it is read (``Content-Length``) and while it is read (a missing or lying length).

This module sits in ``catalog`` (the bottom layer) so that data packs, live offers and the Hub
client share it.
"""

from __future__ import annotations

import contextvars
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

#: Longest wait for any single read when no deadline is shorter (a stalled connection).
READ_TIMEOUT_S = 10.0
_CHUNK = 64 * 1024


class NetError(Exception):
    """A network call that failed; the message is one line naming the server."""


class DeadlineError(NetError, TimeoutError):
    """The call did not finish within its total deadline."""

    def __init__(self, server: str, seconds: float) -> None:
        """``server`` is how messages name it (a host, or "the Hugging Face Hub at URL")."""
        super().__init__(f"{server} did not answer completely within {seconds:g} s")
        self.server = server
        self.seconds = seconds


class TooLargeError(NetError, ValueError):
    """The answer is larger than the caller's limit (refused before it was read whole)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call may take: until ``deadline`` (a ``time.monotonic()`` value) and at most
    ``max_bytes`` per answer body; ``server`` is how messages name the other end."""

    server: str
    seconds: float
    deadline: float
    max_bytes: int

    def remaining(self) -> float:
        """Seconds left (0 when the time is up)."""
        return max(0.0, self.deadline - time.monotonic())

    def check(self) -> None:
        """Raise :class:`DeadlineError` when the time is up."""
        if time.monotonic() >= self.deadline:
            raise DeadlineError(self.server, self.seconds)

    def read_timeout(self) -> float:
        """The socket timeout for the next read: never past the deadline."""
        return max(0.05, min(READ_TIMEOUT_S, self.remaining()))

    def check_announced(self, length: int | None) -> None:
        """Refuse an answer whose announced length is over the limit, before reading it."""
        if length is not None and length > self.max_bytes:
            raise TooLargeError(f"{self.server} offered {length:,} bytes, more than the "
                                f"{self.max_bytes:,} accepted (refused before downloading it)")

    def check_received(self, total: int) -> None:
        """Stop reading an answer that has grown past the limit (a missing or lying length)."""
        if total > self.max_bytes:
            raise TooLargeError(f"{self.server} sent more than {self.max_bytes:,} bytes; "
                                "the rest was not read")


_CURRENT: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "rigready_net_limits", default=None)


def current_limits() -> Limits | None:
    """The limits of the call running on this thread (None outside :func:`run_with_deadline`)."""
    return _CURRENT.get()


def server_of(url: str) -> str:
    """The host (and port) of ``url``, for messages."""
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def run_with_deadline(call: Callable[[], T], *, seconds: float, server: str,
                      max_bytes: int) -> T:
    """``call()`` on a daemon thread, waited for at most ``seconds``.

    The thread sees its :class:`Limits` through :func:`current_limits`. When the time is up the
    caller gets :class:`DeadlineError` at once; the thread is abandoned (its readers stop at
    their next read; a name lookup or a library's sleep may keep it a little longer).

    Raises:
        DeadlineError: no result within ``seconds``.
        Exception: whatever ``call`` raised.
    """
    limits = Limits(server, seconds, time.monotonic() + seconds, max_bytes)
    outcome: dict[str, object] = {}

    def work() -> None:
        _CURRENT.set(limits)
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"rigready-net {server}"[:60], daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if worker.is_alive():
        raise DeadlineError(server, seconds)
    if "error" in outcome:
        error = outcome["error"]
        assert isinstance(error, BaseException)
        raise error
    return outcome["value"]  # type: ignore[return-value]


def _announced(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _Redirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handling, remembering where it went (for messages)."""

    last: str | None = None

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        self.last = newurl
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _stream(url: str, sink: Callable[[bytes], None], method: str, data: bytes | None,
            headers: Mapping[str, str]) -> int:
    limits = current_limits()
    assert limits is not None, "call through fetch_bytes/fetch_to"
    try:
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    except ValueError as exc:  # "http://[::1": an unclosed IPv6 address, ...
        raise NetError(f"{url[:200]} is not a usable address ({exc})") from None
    redirects = _Redirects()
    return _read(urllib.request.build_opener(redirects), request, sink, limits, redirects)


def _read(opener: urllib.request.OpenerDirector, request: urllib.request.Request,
          sink: Callable[[bytes], None], limits: Limits, redirects: _Redirects) -> int:
    def who() -> str:  # the server that failed: after a redirect, where it led
        if redirects.last is None:
            return limits.server
        return f"{server_of(redirects.last)} (where {limits.server} redirected)"

    total = 0
    try:
        with opener.open(request, timeout=limits.read_timeout()) as response:
            length = _announced(response)
            limits.check_announced(length)
            while True:
                limits.check()
                chunk = response.read1(_CHUNK)  # what has arrived, not a full 64 KiB
                if not chunk:
                    break
                total += len(chunk)
                limits.check_received(total)
                sink(chunk)
            if length is not None and total < length:
                raise NetError(f"{who()} cut its answer short ({total:,} of "
                               f"{length:,} bytes)")
    except urllib.error.HTTPError as exc:
        raise NetError(f"{who()} answered HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise NetError(f"{who()} cut its answer short ({len(exc.partial):,} bytes "
                       "arrived)") from None
    except TimeoutError:
        raise DeadlineError(limits.server, limits.seconds) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise DeadlineError(limits.server, limits.seconds) from None
        why = getattr(reason, "strerror", None) or reason
        raise NetError(f"cannot reach {who()} ({why})") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        if isinstance(exc, NetError):
            raise
        raise NetError(f"{who()} gave a broken answer ({type(exc).__name__}: "
                       f"{exc})") from None
    return total


def fetch_bytes(url: str, *, seconds: float, max_bytes: int, method: str = "GET",
                data: bytes | None = None, headers: Mapping[str, str] | None = None,
                server: str | None = None) -> bytes:
    """The body of ``url``, all of it within ``seconds`` and at most ``max_bytes``.

    Raises:
        DeadlineError: not complete in time.
        TooLargeError: the body is (or says it is) larger than ``max_bytes``.
        NetError: an HTTP error status, an unreachable server, a truncated answer.
    """
    parts: list[bytes] = []
    run_with_deadline(lambda: _stream(url, parts.append, method, data, headers or {}),
                      seconds=seconds, server=server or server_of(url), max_bytes=max_bytes)
    return b"".join(parts)


def fetch_to(url: str, sink: Callable[[bytes], None], *, seconds: float, max_bytes: int,
             server: str | None = None) -> int:
    """Stream the body of ``url`` to ``sink`` chunk by chunk (a file, a hash); the byte count.

    Raises:
        As :func:`fetch_bytes`. The sink may have received part of the body.
    """
    return run_with_deadline(lambda: _stream(url, sink, "GET", None, {}), seconds=seconds,
                             server=server or server_of(url), max_bytes=max_bytes)
