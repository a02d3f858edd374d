"""Which Hub repository a name means (``org/name`` or a Hub URL), where the Hub is
(``HF_ENDPOINT``), whether the client is offline, and :class:`HubError`: what the Hub look-up
(:mod:`.hub`) and its error wording (:mod:`.hub_errors`) share."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlparse, urlsplit

from rigready.assess.estimate.inputs import EstimateError

_DEFAULT_ENDPOINT = "https://huggingface.co"
#: One part of a repo id as huggingface_hub's validator accepts it (utils.validate_repo_id):
#: 1-96 of ``A-Z a-z 0-9 _ . -``, starting and ending with a letter, digit or ``_``.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_PART}/{_PART}$")


class HubError(EstimateError):
    """The Hub could not give the model's config; the message says what to do."""


@dataclass(frozen=True, slots=True)
class HubRef:
    """A model repository on the Hub, from an ``org/name`` id or a Hub URL."""

    repo_id: str
    revision: str | None = None

    @property
    def url(self) -> str:
        """The model's page on the Hub (where its licence is accepted)."""
        return f"{endpoint()}/{self.repo_id}"


def endpoint() -> str:
    """``HF_ENDPOINT`` or the Hub's address.

    Raises:
        HubError: it is no http(s) address (``http://[::1``, a port over 65535): the library
            itself would fail on it with a ValueError when first imported.
    """
    value = (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise HubError(f"HF_ENDPOINT={value[:100]!r} is not a usable address ({exc})") from None
    if not usable:
        raise HubError(f"HF_ENDPOINT={value[:100]!r} is not an http(s) address such as "
                       f"{_DEFAULT_ENDPOINT}")
    return value


def valid_repo_id(text: str) -> bool:
    """Whether ``text`` is ``org/name`` as the Hub's client accepts it (no ``--`` or ``..``,
    no ``.git`` at the end, each part 1-96 characters): a name it would refuse with
    HFValidationError is simply not a Hub id here."""
    return (bool(_REPO_ID.match(text)) and "--" not in text and ".." not in text
            and not text.endswith(".git"))


def offline() -> bool:
    """Whether the Hub client is offline (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def parse_hub_ref(text: str) -> HubRef | None:
    """``Qwen/Qwen3-8B`` or ``https://huggingface.co/Qwen/Qwen3-8B[/tree/REV/...]`` -> a ref.

    Returns None for anything else (a path, a catalog name, a parameter count).

    >>> parse_hub_ref("https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json")
    HubRef(repo_id='Qwen/Qwen3-8B', revision='main')
    """
    text = text.strip()
    if "://" in text:
        url = urlparse(text)
        hosts = {"huggingface.co", "www.huggingface.co", "hf.co", urlparse(endpoint()).netloc}
        parts = [p for p in url.path.split("/") if p]
        if url.netloc.lower() not in hosts or len(parts) < 2 or parts[0] in ("datasets",
                                                                            "spaces"):
            return None
        revision = parts[3] if len(parts) > 3 and parts[2] in ("tree", "blob", "resolve") \
            else None
        repo = "/".join(parts[:2])
        return HubRef(repo, revision) if valid_repo_id(repo) else None
    if valid_repo_id(text) and not text.endswith(".json"):
        return HubRef(text)
    return None
