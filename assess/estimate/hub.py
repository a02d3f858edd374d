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
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from rigready.assess.estimate.hub_errors import error_line, metadata_problem, request_errors
from rigready.assess.estimate.hub_http import use_bounded_client
from rigready.assess.estimate.hub_info import safetensors_counts
from rigready.assess.estimate.hub_ref import (
    HubError,
    HubRef,
    endpoint,
    offline,
    parse_hub_ref,
    valid_repo_id,
)
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language.config import MAX_PARAM_COUNT
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.shapes import read_config_file, shape_from_config
from rigready.catalog.netfetch import run_with_deadline
from rigready.catalog.userfiles import UserFileError
from rigready.catalog.userjson import parse_json_bytes

T = TypeVar("T")

#: Seconds to wait for any one read from the Hub (the library's default is 10).
HUB_TIMEOUT_S = 5.0
#: Seconds each step (config.json; the model info) may take in all, whatever the server does.
HUB_DEADLINE_S = 10.0
#: Largest answer accepted from the Hub (a config.json or a model info is a few KB).
MAX_HUB_ANSWER_BYTES = 4 * 2**20

__all__ = [
    "HUB_DEADLINE_S",
    "HUB_TIMEOUT_S",
    "MAX_HUB_ANSWER_BYTES",
    "HubError",
    "HubRef",
    "fetch_hub_model",
    "hub_model_job",
    "parse_hub_ref",
    "valid_repo_id",
]

#: Storage dtypes that hold packed quantized weights (several parameters per element).
_PACKED = frozenset({"I32", "U32", "I8", "U8", "I16", "U16", "I64"})


def _hub_call(call: Callable[[], T]) -> T:
    """``call()`` (requests through huggingface_hub) within :data:`HUB_DEADLINE_S` in all and
    :data:`MAX_HUB_ANSWER_BYTES` per answer.

    Raises:
        DeadlineError: not done in time (naming the Hub's address); what ``call`` raised.
    """
    use_bounded_client()
    return run_with_deadline(call, seconds=HUB_DEADLINE_S, max_bytes=MAX_HUB_ANSWER_BYTES,
                             server=f"the Hugging Face Hub at {endpoint()}")


def _config_path(ref: HubRef) -> str:
    """The local path of the repo's config.json, fetched into the cache if needed; a cached copy
    serves when the Hub fails, is too slow or answers nonsense."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_download, hf_hub_url

    def download(local_only: bool) -> str:
        return hf_hub_download(
            ref.repo_id, "config.json", revision=ref.revision, endpoint=endpoint(),
            cache_dir=os.environ.get("HF_HUB_CACHE") or None, etag_timeout=HUB_TIMEOUT_S,
            local_files_only=local_only)

    def cached_or_error(exc: BaseException) -> str:
        try:
            return download(True)  # the Hub failed; a cached copy still serves
        except LocalEntryNotFoundError:
            raise HubError(error_line(ref, exc, HUB_TIMEOUT_S)) from None

    errors = request_errors()
    if offline():
        try:
            return download(True)
        except errors as exc:
            raise HubError(error_line(ref, exc, HUB_TIMEOUT_S)) from None
    url = hf_hub_url(ref.repo_id, "config.json", revision=ref.revision, endpoint=endpoint())
    try:
        # One attempt with the short timeout first: when nothing is cached, hf_hub_download
        # retries a failed metadata request itself with a 60 s timeout and back-off.
        meta = _hub_call(lambda: get_hf_file_metadata(url, timeout=HUB_TIMEOUT_S,
                                                      endpoint=endpoint()))
    except errors as exc:
        return cached_or_error(exc)
    problem = metadata_problem(url, meta.commit_hash, meta.etag, meta.location)
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

    path = f"{endpoint()}/api/models/{ref.repo_id}"
    if ref.revision:
        path += f"/revision/{quote(ref.revision, safe='')}"
    response = get_session().get(path, headers=build_hf_headers(), timeout=HUB_TIMEOUT_S,
                                 params={"expand": "safetensors"})
    hf_raise_for_status(response)
    return parse_json_bytes(response.content, "the model info")


def _safetensors_counts(ref: HubRef) -> tuple[dict[str, int] | None, str]:
    """Parameters per storage dtype as the Hub counted them, or None and why not."""
    if offline():
        return None, "HF_HUB_OFFLINE is set"
    try:
        info = _hub_call(lambda: _model_info(ref))
    except UserFileError as exc:
        return None, f"the Hub's answer is unusable: {exc}"
    except request_errors() as exc:
        return None, error_line(ref, exc, HUB_TIMEOUT_S)
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
    endpoint()  # a broken HF_ENDPOINT is one line, before the library reads it on import
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
