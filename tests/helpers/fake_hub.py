"""A local stand-in for the Hugging Face Hub's file and model-info endpoints, on 127.0.0.1.

Point ``HF_ENDPOINT`` at :attr:`FakeHub.url` and the real ``huggingface_hub`` client code runs
against it: ``HEAD``/``GET /{repo}/resolve/{revision}/{file}`` and
``GET /api/models/{repo}[/revision/{revision}]``. Errors carry the headers the Hub sends and that
``huggingface_hub.utils.hf_raise_for_status`` reads (``X-Error-Code``, ``X-Error-Message``,
``X-Repo-Commit``): a missing repo is 401 ``RepoNotFound``, a gated repo 401 ``GatedRepo``
without a token and 403 ``GatedRepo`` with a token that has no access, a missing file 404
``EntryNotFound``. Every request is recorded so tests can check that no weights were fetched.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: The token the fake Hub accepts for gated repos.
GOOD_TOKEN = "hf_fake_granted_token"


@dataclass
class FakeRepo:
    """One model repository: its files, whether it is gated, its safetensors counts."""

    files: dict[str, bytes]
    gated: bool = False
    safetensors: dict[str, int] | None = None


@dataclass
class FakeHub:
    """The server's state; ``requests`` lists ``(method, path)`` in arrival order."""

    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {"X-Error-Code": code, "X-Error-Message": message,
                                  "X-Repo-Commit": COMMIT})

    def _repo(self, repo_id: str) -> FakeRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found")
            return None
        if repo.gated:
            auth = self.headers.get("authorization", "")
            if not auth:
                self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must "
                            "have access to it and be authenticated to access it. Please log in.")
                return None
            if auth != f"Bearer {GOOD_TOKEN}":
                self._error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you "
                            "are not in the authorized list. Visit the model page to ask for "
                            "access.")
                return None
        return repo

    def do_HEAD(self) -> None:
        """Answer a file metadata request."""
        self._handle()

    def do_GET(self) -> None:
        """Answer a file or model-info request."""
        self._handle()

    def _handle(self) -> None:
        path = unquote(urlparse(self.path).path)
        self.hub.requests.append((self.command, path))
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = self._repo(f"{parts[2]}/{parts[3]}")
            if repo is None:
                return
            info: dict[str, object] = {"id": f"{parts[2]}/{parts[3]}", "sha": COMMIT}
            if repo.safetensors is not None:
                info["safetensors"] = {"parameters": repo.safetensors,
                                       "total": sum(repo.safetensors.values())}
            self._send(200, json.dumps(info).encode())
            return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo(f"{parts[0]}/{parts[1]}")
            if repo is None:
                return
            name = "/".join(parts[4:])
            if name not in repo.files:
                self._error(404, "EntryNotFound", f"{name} does not exist on \"main\"")
                return
            body = repo.files[name]
            etag = hashlib.sha256(body).hexdigest()
            self._send(200, body, {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"'},
                       content_type="application/octet-stream")
            return
        self._send(404, b"{}")


@contextmanager
def serve_fake_hub(hub: FakeHub) -> Iterator[FakeHub]:
    """Run the fake Hub on a free port of 127.0.0.1 for the duration of the block."""
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def hub_serving(repos: dict[str, FakeRepo],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Serve ``repos`` on a fake Hub and point ``HF_ENDPOINT`` at it for the block."""
    with serve_fake_hub(FakeHub(repos=repos)) as served:
        monkeypatch.setenv("HF_ENDPOINT", served.url)
        yield served


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a stalled Hub), as a URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (an unreachable Hub)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def isolate_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private Hub cache and home, no token or offline flag from the user's shell, and
    ``HF_ENDPOINT`` on a closed local port (so nothing can reach the real Hub). Returns the
    cache folder (``HF_HUB_CACHE``)."""
    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    return cache
