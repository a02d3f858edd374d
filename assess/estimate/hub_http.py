"""The Hugging Face Hub client's HTTP, held to the limits of the running look-up.

``huggingface_hub`` sends every request through one shared ``httpx2`` client, made by a factory
that applications may replace (``huggingface_hub.utils.set_client_factory``, meant for proxies
and certificates). :func:`use_bounded_client` installs a factory that makes the library's own
default client plus two event hooks. Inside a call run by
:func:`rigready.catalog.netfetch.run_with_deadline` (the deadline mechanism every network client
of rigready shares) the hooks apply that call's :class:`~rigready.catalog.netfetch.Limits` to
every request and every redirect hop:

- no request is sent once the time is up, and each one's timeouts are cut to the time left
  (plus a moment, so that the deadline rather than a socket timeout ends the call);
- compressed answers are not asked for (``Accept-Encoding: identity``) and refused if sent, so
  the byte limit is what lands in memory or in the cache;
- an answer announcing more than the byte limit is refused before its body is read, and a body
  that grows past it (a missing or lying ``Content-Length``) is cut off, as is one that is still
  arriving when the time is up (a server dripping a byte every few seconds);
- a 429 whose ``Retry-After`` (or ``RateLimit`` reset) is longer than the time left ends the
  call at once with a line saying so, instead of the library sleeping for an hour.

Outside such a call the hooks do nothing: the client behaves as the library's default one.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rigready.catalog.netfetch import DeadlineError, Limits, NetError, current_limits

if TYPE_CHECKING:  # httpx2 (80 ms) is imported when the Hub is first used, not with this module
    import httpx2

_installed = False
_install_lock = threading.Lock()


class HubLimitError(NetError):
    """A Hub answer refused by the look-up's limits (too slow, too large, compressed, or rate
    limited for longer than the time left); the message is one line. Not an ``httpx2`` error,
    so ``huggingface_hub`` neither retries it nor mistakes it for a lost connection: it ends
    the call."""


def use_bounded_client() -> None:
    """Make ``huggingface_hub`` build its shared client with the hooks (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from huggingface_hub.utils._http import set_client_factory

        set_client_factory(_bounded_client)
        _installed = True


def _bounded_client() -> httpx2.Client:
    from huggingface_hub.utils import _http

    client = _http.default_client_factory()
    hooks = client.event_hooks
    client.event_hooks = {"request": [*hooks["request"], _on_request],
                          "response": [*hooks["response"], _on_response]}
    return client


def _refuse(exc: NetError) -> HubLimitError:
    return HubLimitError(str(exc))


def _on_request(request: httpx2.Request) -> None:
    limits = current_limits()
    if limits is None:
        return
    try:
        limits.check()
    except DeadlineError as exc:
        raise _refuse(exc) from None
    # A little past the deadline, so the caller's deadline (not a socket timeout racing it)
    # decides the message; the abandoned request then stops a moment later.
    left = limits.remaining() + 0.25
    asked = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {
        key: left if asked.get(key) is None else min(float(asked[key]), left)
        for key in ("connect", "read", "write", "pool")}
    request.headers["Accept-Encoding"] = "identity"


def _retry_after_s(response: httpx2.Response) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` seconds, or the ``RateLimit`` header's ``t``."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    match = re.search(r"[;,\s]t=(\d+)", response.headers.get("RateLimit", ""))
    return float(match.group(1)) if match else None


def _on_response(response: httpx2.Response) -> None:
    limits = current_limits()
    if limits is None:
        return
    if response.status_code == 429:
        wait = _retry_after_s(response)
        if wait is not None and wait + 1 > limits.remaining():
            raise HubLimitError(
                f"{limits.server} is limiting requests (HTTP 429) and asks to wait {wait:g} s, "
                f"longer than this look-up may take ({limits.seconds:g} s in all)")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise HubLimitError(f"{limits.server} sent a {encoding}-compressed answer although "
                            "none was asked for; refused")
    if response.request.method != "HEAD":
        try:
            limits.check_announced(_int(response.headers.get("Content-Length")))
        except NetError as exc:
            raise _refuse(exc) from None
        response.stream = _bounded_stream_type()(response.stream, limits)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@functools.cache
def _bounded_stream_type() -> Callable[[Any, Limits], httpx2.SyncByteStream]:
    """The stream wrapper (defined on first use: httpx2 checks ``isinstance`` against its own
    ``SyncByteStream``, which this module does not import at load time)."""
    import httpx2

    class BoundedStream(httpx2.SyncByteStream):
        """An answer body read within the call's deadline and byte limit."""

        def __init__(self, inner: Any, limits: Limits) -> None:
            self._inner = inner
            self._limits = limits

        def __iter__(self) -> Iterator[bytes]:
            total = 0
            for chunk in self._inner:
                total += len(chunk)
                try:
                    self._limits.check_received(total)
                    self._limits.check()
                except NetError as exc:
                    raise _refuse(exc) from None
                yield chunk

        def close(self) -> None:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()

    return BoundedStream
