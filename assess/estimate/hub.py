"""A model from the Hugging Face Hub: ``config.json`` and the Hub's safetensors figures, never
the weights.

``huggingface_hub`` (the field's own client) does the work, so its cache (``HF_HUB_CACHE``), its
token (``HF_TOKEN`` or ``hf auth login``), its offline mode (``HF_HUB_OFFLINE=1``) and its mirror
setting (``HF_ENDPOINT``) behave as in every other tool. Those variables are read at call time,
not when the library is first imported, so a change takes effect at once.

Two steps, each ended within :data:`HUB_DEADLINE_S` in all (name lookup, redirects, retries and
the whole answer: the deadline mechanism every network client of rigready shares,
:func:`rigready.catalog.netfetch.run_with_deadline`, applied to the library's own HTTP client by
:mod:`.hub_http`) and each answer at most :data:`MAX_HUB_ANSWER_BYTES`: ``config.json`` (cached,
so a second look-up works offline; a cached copy also serves when the Hub is slow or down), then
the repo's model info with its safetensors parameter count per dtype (the exact count and the
stored dtype; skipped offline and for packed quantized weights, whose int32 elements are not
parameters; a malformed count is ignored with a note naming the field). Every failure becomes one
:class:`HubError` sentence saying what happened (too slow, rate limited, too large, redirected
somewhere unreachable, cut short, not a Hub) and what to do. Ids the library's validator would
refuse are not taken for Hub ids at all. The library's modules are imported by their own names
(not through its lazy top-level package), so the PyInstaller bundle finds them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlparse, urlsplit

from rigready.assess.estimate.hub_http import use_bounded_client
from rigready.assess.estimate.hub_info import safetensors_counts
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language.config import MAX_PARAM_COUNT
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.shapes import read_config_file, shape_from_config
from rigready.catalog.netfetch import NetError, run_with_deadline
from rigready.catalog.userfiles import UserFileError
from rigready.catalog.userjson import parse_json_bytes

T = TypeVar("T")

#: Seconds to wait for any one read from the Hub (the library's default is 10).
HUB_TIMEOUT_S = 5.0
#: Seconds each step (config.json; the model info) may take in all, whatever the server does.
HUB_DEADLINE_S = 10.0
#: Largest answer accepted from the Hub (a config.json or a model info is a few KB).
MAX_HUB_ANSWER_BYTES = 4 * 2**20
_DEFAULT_ENDPOINT = "https://huggingface.co"
#: One part of a repo id as huggingface_hub's validator accepts it (utils.validate_repo_id):
#: 1-96 of ``A-Z a-z 0-9 _ . -``, starting and ending with a letter, digit or ``_``.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_PART}/{_PART}$")
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
        return HubRef(repo, revision) if valid_repo_id(repo) else None
    if valid_repo_id(text) and not text.endswith(".json"):
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
    if isinstance(exc, HfHubHTTPError) and not _problem_in_chain(exc):
        status = exc.response.status_code
        if status == 401:
            return f"the Hugging Face Hub refused your token (401): {_LOGIN} again"
        if status == 429:
            return (f"the Hugging Face Hub at {_endpoint()} answered 429 (too many requests) "
                    f"for {ref.repo_id}: try again later, {fallback}")
        return (f"the Hugging Face Hub answered {status} for {ref.repo_id}: try again later, "
                f"{fallback}")
    problem = _problem_in_chain(exc)
    if problem:
        return f"{problem}, and {ref.repo_id} is not in the cache: try again later, {fallback}"
    cause = _chain(exc)[-1]
    if "timeout" in type(cause).__name__.lower():
        why = f"no answer within {HUB_TIMEOUT_S:g} s"
    else:
        why = "no network connection"
    return (f"cannot reach the Hugging Face Hub at {_endpoint()} ({why}) and {ref.repo_id} is "
            f"not in the cache: go online, {fallback}")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _problem_in_chain(exc: BaseException) -> str:
    """What went wrong when it was not a plain lost connection, as a phrase ("" otherwise):
    a deadline or a limit, an answer that is not the Hub's, a redirect loop or a redirect to
    somewhere unreachable, an answer cut short."""
    import httpx2
    from huggingface_hub.errors import FileMetadataError

    hub = f"the Hugging Face Hub at {_endpoint()}"
    for link in _chain(exc):
        if isinstance(link, NetError | HubError):  # a deadline or limit (HubLimitError too)
            return str(link)
        if isinstance(link, FileMetadataError):
            if "x-repo-commit" in str(link).lower():
                return (f"the server at {_endpoint()} does not answer like the Hugging Face Hub "
                        "(no X-Repo-Commit header): check HF_ENDPOINT")
            if "etag" in str(link).lower():
                return (f"{hub} answered without an ETag (a file that cannot be cached "
                        "reliably; a proxy in the way?)")
            return f"{hub} gave unusable file details ({str(link)[:160]})"
        if isinstance(link, httpx2.TooManyRedirects):
            return f"{hub} redirected too many times (a redirect loop)"
        if isinstance(link, httpx2.RemoteProtocolError) or (
                isinstance(link, OSError) and "Consistency check failed" in str(link)):
            return f"{hub} cut its answer short"
        if isinstance(link, httpx2.RequestError):
            try:
                where = link.request.url.netloc.decode("ascii", "replace")
            except RuntimeError:
                continue
            if where and where != urlparse(_endpoint()).netloc:
                return (f"{hub} redirected to {where}, which could not be reached "
                        f"({type(link).__name__})")
    return ""


def _request_errors() -> tuple[type[BaseException], ...]:
    """What the client raises for a failed request (HTTP, connection, timeout, cache miss, a
    deadline or a limit)."""
    import httpx2
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled

    return (HfHubHTTPError, EntryNotFoundError, OfflineModeIsEnabled, httpx2.HTTPError,
            OSError, ValueError, NetError)


def _hub_call(call: Callable[[], T]) -> T:
    """``call()`` (requests through huggingface_hub) within :data:`HUB_DEADLINE_S` in all and
    :data:`MAX_HUB_ANSWER_BYTES` per answer.

    Raises:
        DeadlineError: not done in time (naming the Hub's address); what ``call`` raised.
    """
    use_bounded_client()
    return run_with_deadline(call, seconds=HUB_DEADLINE_S, max_bytes=MAX_HUB_ANSWER_BYTES,
                             server=f"the Hugging Face Hub at {_endpoint()}")


def _config_path(ref: HubRef) -> str:
    """The local path of the repo's config.json, fetched into the cache if needed; a cached copy
    serves when the Hub fails, is too slow or answers nonsense."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_download, hf_hub_url

    def download(local_only: bool) -> str:
        return hf_hub_download(
            ref.repo_id, "config.json", revision=ref.revision, endpoint=_endpoint(),
            cache_dir=os.environ.get("HF_HUB_CACHE") or None, etag_timeout=HUB_TIMEOUT_S,
            local_files_only=local_only)

    def cached_or_error(exc: BaseException) -> str:
        try:
            return download(True)  # the Hub failed; a cached copy still serves
        except LocalEntryNotFoundError:
            raise HubError(_error_line(ref, exc)) from None

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
        meta = _hub_call(lambda: get_hf_file_metadata(url, timeout=HUB_TIMEOUT_S,
                                                      endpoint=_endpoint()))
    except errors as exc:
        return cached_or_error(exc)
    problem = _metadata_problem(url, meta.commit_hash, meta.etag, meta.location)
    if problem:
        return cached_or_error(HubError(problem))
    if meta.size is not None and meta.size > MAX_HUB_ANSWER_BYTES:
        raise HubError(f"{ref.repo_id}: the Hub says its config.json is {meta.size:,} bytes "
                       f"(a config.json is a few KB; more than {MAX_HUB_ANSWER_BYTES:,} is not "
                       "downloaded); give the path of a config.json")
    try:
        return _hub_call(lambda: download(False))
    except errors as exc:
        return cached_or_error(exc)


def _metadata_problem(url: str, commit: str | None, etag: str | None, location: str) -> str:
    """Why the file details the server gave are not the Hub's ("" when they are)."""
    if commit is not None and etag is not None:
        return ""
    missing = "X-Repo-Commit header" if commit is None else "ETag"
    if location != url:
        return (f"the Hugging Face Hub at {_endpoint()} redirected config.json to {location} "
                f"without the Hub's file details (no {missing}): check HF_ENDPOINT and any "
                "proxy")
    if commit is None:
        return (f"the server at {_endpoint()} does not answer like the Hugging Face Hub "
                "(no X-Repo-Commit header): check HF_ENDPOINT")
    return (f"the Hugging Face Hub at {_endpoint()} answered without an ETag (a file that "
            "cannot be cached reliably; a proxy in the way?)")


def _download_config(ref: HubRef) -> dict[str, Any]:
    path = Path(_config_path(ref))
    try:
        return read_config_file(path)
    except EstimateError as exc:
        raise HubError(f"{ref.repo_id}: the config.json from the Hub is unusable ({exc}); "
                       "give the path of a config.json") from None


def _model_info(ref: HubRef) -> object:
    """The repo's model info with its safetensors counts, as parsed JSON (the library's own
    session, token and error mapping; the body parsed by rigready's strict JSON reader so that
    a malformed answer is named field by field rather than failing inside the library)."""
    from huggingface_hub.utils._headers import build_hf_headers
    from huggingface_hub.utils._http import get_session, hf_raise_for_status

    path = f"{_endpoint()}/api/models/{ref.repo_id}"
    if ref.revision:
        path += f"/revision/{quote(ref.revision, safe='')}"
    response = get_session().get(path, headers=build_hf_headers(), timeout=HUB_TIMEOUT_S,
                                 params={"expand": "safetensors"})
    hf_raise_for_status(response)
    return parse_json_bytes(response.content, "the model info")


def _safetensors_counts(ref: HubRef) -> tuple[dict[str, int] | None, str]:
    """Parameters per storage dtype as the Hub counted them, or None and why not."""
    if _offline():
        return None, "HF_HUB_OFFLINE is set"
    try:
        info = _hub_call(lambda: _model_info(ref))
    except UserFileError as exc:
        return None, f"the Hub's answer is unusable: {exc}"
    except _request_errors() as exc:
        return None, _error_line(ref, exc)
    return safetensors_counts(info, MAX_PARAM_COUNT)


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
    _endpoint()  # a broken HF_ENDPOINT is one line, before the library reads it on import
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
