"""A model from the Hugging Face Hub: ``config.json`` and the Hub's safetensors figures, never
the weights.

``huggingface_hub`` (the field's own client) does the work, so its cache (``HF_HUB_CACHE``), its
token (``HF_TOKEN`` or ``hf auth login``), its offline mode (``HF_HUB_OFFLINE=1``) and its mirror
setting (``HF_ENDPOINT``) behave as in every other tool. Those variables are read at call time,
not when the library is first imported, so a change takes effect at once.

Two requests at most, each with a short timeout: ``config.json`` (cached, so a second look-up
works offline), then the repo's model info with its safetensors parameter count per dtype (the
exact count and the stored dtype; skipped offline and for packed quantized weights, whose int32
elements are not parameters). Every failure becomes one :class:`HubError` sentence saying what
to do. The library's modules are imported by their own names (not through its lazy top-level
package), so the PyInstaller bundle finds them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.shapes import read_config_file, shape_from_config

#: Seconds to wait for the Hub to answer one request (the library's default is 10).
HUB_TIMEOUT_S = 5.0
_DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
#: Storage dtypes that hold packed quantized weights (several parameters per element).
_PACKED = frozenset({"I32", "U32", "I8", "U8", "I16", "U16", "I64"})
_LOGIN = "log in with `hf auth login` or set HF_TOKEN"


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
        return f"{_endpoint()}/{self.repo_id}"


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def _offline() -> bool:
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
        hosts = {"huggingface.co", "www.huggingface.co", "hf.co", urlparse(_endpoint()).netloc}
        parts = [p for p in url.path.split("/") if p]
        if url.netloc.lower() not in hosts or len(parts) < 2 or parts[0] in ("datasets",
                                                                            "spaces"):
            return None
        revision = parts[3] if len(parts) > 3 and parts[2] in ("tree", "blob", "resolve") \
            else None
        repo = "/".join(parts[:2])
        return HubRef(repo, revision) if _REPO_ID.match(repo) else None
    if _REPO_ID.match(text) and not text.endswith(".json"):
        return HubRef(text)
    return None


def _error_line(ref: HubRef, exc: BaseException) -> str:
    """One sentence for a failed Hub request (the library's exception classes, checked in order
    from the most specific)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    fallback = "or give the path of a config.json"
    if isinstance(exc, GatedRepoError):
        from huggingface_hub.utils._auth import get_token

        if get_token() is None:
            return (f"{ref.repo_id} is gated: accept its licence on {ref.url}, then {_LOGIN}, "
                    f"{fallback}")
        return (f"{ref.repo_id} is gated and your token has no access yet: accept the licence "
                f"on {ref.url} (access can take a while to be granted), {fallback}")
    if isinstance(exc, RevisionNotFoundError):
        return f"{ref.repo_id} has no revision {ref.revision!r} on the Hugging Face Hub"
    if isinstance(exc, RepositoryNotFoundError):
        return (f"no model {ref.repo_id!r} on the Hugging Face Hub: check the spelling; if it is "
                f"private, {_LOGIN}")
    if isinstance(exc, RemoteEntryNotFoundError):
        return (f"{ref.repo_id} has no config.json on the Hugging Face Hub (not a transformers "
                f"model?); {fallback}")
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)) and _offline():
        return (f"{ref.repo_id}: config.json is not in the Hugging Face cache and HF_HUB_OFFLINE "
                f"is set: go online once (unset HF_HUB_OFFLINE) to fetch it, {fallback}")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code
        if status == 401:
            return f"the Hugging Face Hub refused your token (401): {_LOGIN} again"
        return (f"the Hugging Face Hub answered {status} for {ref.repo_id}: try again later, "
                f"{fallback}")
    cause = _root_cause(exc)
    if "timeout" in type(cause).__name__.lower():
        why = f"no answer within {HUB_TIMEOUT_S:g} s"
    else:
        why = "no network connection"
    return (f"cannot reach the Hugging Face Hub at {_endpoint()} ({why}) and {ref.repo_id} is "
            f"not in the cache: go online, {fallback}")


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while True:
        nxt = exc.__cause__ or exc.__context__
        if nxt is None or id(nxt) in seen:
            return exc
        seen.add(id(nxt))
        exc = nxt


def _request_errors() -> tuple[type[BaseException], ...]:
    """What the client raises for a failed request (HTTP, connection, timeout, cache miss)."""
    import httpx2
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled

    return (HfHubHTTPError, EntryNotFoundError, OfflineModeIsEnabled, httpx2.HTTPError,
            OSError, ValueError)


def _config_path(ref: HubRef) -> str:
    """The local path of the repo's config.json, fetched into the cache if needed."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_download, hf_hub_url

    def download(local_only: bool) -> str:
        return hf_hub_download(
            ref.repo_id, "config.json", revision=ref.revision, endpoint=_endpoint(),
            cache_dir=os.environ.get("HF_HUB_CACHE") or None, etag_timeout=HUB_TIMEOUT_S,
            local_files_only=local_only)

    errors = _request_errors()
    if _offline():
        try:
            return download(True)
        except errors as exc:
            raise HubError(_error_line(ref, exc)) from None
    url = hf_hub_url(ref.repo_id, "config.json", revision=ref.revision, endpoint=_endpoint())
    try:
        # One attempt with the short timeout first: when nothing is cached, hf_hub_download
        # retries a failed metadata request itself with a 60 s timeout and back-off.
        get_hf_file_metadata(url, timeout=HUB_TIMEOUT_S, endpoint=_endpoint())
    except errors as exc:
        try:
            return download(True)  # the Hub did not answer; a cached copy still serves
        except LocalEntryNotFoundError:
            raise HubError(_error_line(ref, exc)) from None
    try:
        return download(False)
    except errors as exc:
        raise HubError(_error_line(ref, exc)) from None


def _download_config(ref: HubRef) -> dict[str, Any]:
    path = Path(_config_path(ref))
    try:
        return read_config_file(path)
    except EstimateError as exc:
        raise HubError(f"{ref.repo_id}: the config.json from the Hub is unusable ({exc}); "
                       "give the path of a config.json") from None


def _safetensors_counts(ref: HubRef) -> tuple[dict[str, int] | None, str]:
    """Parameters per storage dtype as the Hub counted them, or None and why not."""
    if _offline():
        return None, "HF_HUB_OFFLINE is set"
    from huggingface_hub.hf_api import HfApi

    try:
        info = HfApi(endpoint=_endpoint()).model_info(
            ref.repo_id, revision=ref.revision, expand=["safetensors"], timeout=HUB_TIMEOUT_S)
    except _request_errors() as exc:
        return None, _error_line(ref, exc)
    counts = getattr(info.safetensors, "parameters", None) if info.safetensors else None
    if not counts:
        return None, "the repo has no safetensors weights"
    return {str(k): int(v) for k, v in counts.items()}, ""


def _with_counts(shape: ModelShape, config: dict[str, Any],
                 counts: dict[str, int] | None, why_not: str) -> ModelShape:
    notes = list(shape.notes)
    computed = shape.computed_params
    if counts is None:
        notes.append(f"parameter count computed from config.json ({why_not})")
        return replace(shape, notes=tuple(notes))
    packed = sorted(set(counts) & _PACKED)
    if packed or "quantization_config" in config:
        notes.append("the weights on the Hub are quantized ("
                     + (", ".join(packed) if packed else "quantization_config")
                     + "); parameter count computed from config.json")
        return replace(shape, notes=tuple(notes))
    total = sum(counts.values())
    dtype = max(counts, key=lambda k: counts[k])
    notes.append(f"{total:,} parameters stored as {dtype} (the Hub's safetensors count)")
    if computed and abs(total - computed) > 0.02 * total:
        notes.append(f"config.json alone implies {computed:,}: the weights include parts the "
                     "layer figures do not describe (for example a vision tower)")
    return replace(shape, declared_params=total, notes=tuple(notes))


def hub_model_job(ref: HubRef) -> Generator[str, None, ModelShape]:
    """Fetch a Hub model's shape step by step (each yield names the next request), for the GUI's
    worker; the CLI runs it through :func:`fetch_hub_model`.

    Raises:
        HubError: the Hub or the cache could not give a usable config.json.
        EstimateError: the config describes a model type the estimator does not support.
    """
    yield f"fetching config.json of {ref.repo_id}"
    config = _download_config(ref)
    shape = shape_from_config(config, name=ref.repo_id)
    shape = replace(shape, source=f"Hugging Face Hub {ref.repo_id} {shape.source}")
    yield f"reading the safetensors parameter count of {ref.repo_id}"
    counts, why_not = _safetensors_counts(ref)
    return _with_counts(shape, config, counts, why_not)


def fetch_hub_model(ref: HubRef) -> ModelShape:
    """The shape of a Hub model (blocking, bounded by the short timeouts).

    Raises:
        HubError: see :func:`hub_model_job`.
    """
    job = hub_model_job(ref)
    while True:
        try:
            next(job)
        except StopIteration as stop:
            result: ModelShape = stop.value
            return result
