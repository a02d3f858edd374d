"""One sentence for each way a Hub look-up fails (gated, no such repo or revision, offline
with nothing cached, 401, 429, a deadline or limit, a server that is not the Hub, a redirect
loop, an answer cut short, no network), from the exception chain of ``huggingface_hub``'s
client. Used by :mod:`.hub`."""

from __future__ import annotations

from urllib.parse import urlparse

from rigready.assess.estimate.hub_ref import HubError, HubRef, endpoint, offline
from rigready.catalog.netfetch import NetError

_LOGIN = "log in with `hf auth login` or set HF_TOKEN"


def error_line(ref: HubRef, exc: BaseException, timeout_s: float) -> str:
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
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)) and offline():
        return (f"{ref.repo_id}: config.json is not in the Hugging Face cache and HF_HUB_OFFLINE "
                f"is set: go online once (unset HF_HUB_OFFLINE) to fetch it, {fallback}")
    if isinstance(exc, HfHubHTTPError) and not problem_inerror_chain(exc):
        status = exc.response.status_code
        if status == 401:
            return f"the Hugging Face Hub refused your token (401): {_LOGIN} again"
        if status == 429:
            return (f"the Hugging Face Hub at {endpoint()} answered 429 (too many requests) "
                    f"for {ref.repo_id}: try again later, {fallback}")
        return (f"the Hugging Face Hub answered {status} for {ref.repo_id}: try again later, "
                f"{fallback}")
    problem = problem_inerror_chain(exc)
    if problem:
        return f"{problem}, and {ref.repo_id} is not in the cache: try again later, {fallback}"
    cause = error_chain(exc)[-1]
    if "timeout" in type(cause).__name__.lower():
        why = f"no answer within {timeout_s:g} s"
    else:
        why = "no network connection"
    return (f"cannot reach the Hugging Face Hub at {endpoint()} ({why}) and {ref.repo_id} is "
            f"not in the cache: go online, {fallback}")


def error_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def problem_inerror_chain(exc: BaseException) -> str:
    """What went wrong when it was not a plain lost connection, as a phrase ("" otherwise):
    a deadline or a limit, an answer that is not the Hub's, a redirect loop or a redirect to
    somewhere unreachable, an answer cut short."""
    import httpx2
    from huggingface_hub.errors import FileMetadataError

    hub = f"the Hugging Face Hub at {endpoint()}"
    for link in error_chain(exc):
        if isinstance(link, NetError | HubError):  # a deadline or limit (HubLimitError too)
            return str(link)
        if isinstance(link, FileMetadataError):
            if "x-repo-commit" in str(link).lower():
                return (f"the server at {endpoint()} does not answer like the Hugging Face Hub "
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
            if where and where != urlparse(endpoint()).netloc:
                return (f"{hub} redirected to {where}, which could not be reached "
                        f"({type(link).__name__})")
    return ""


def request_errors() -> tuple[type[BaseException], ...]:
    """What the client raises for a failed request (HTTP, connection, timeout, cache miss, a
    deadline or a limit)."""
    import httpx2
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled

    return (HfHubHTTPError, EntryNotFoundError, OfflineModeIsEnabled, httpx2.HTTPError,
            OSError, ValueError, NetError)


def metadata_problem(url: str, commit: str | None, etag: str | None, location: str) -> str:
    """Why the file details the server gave are not the Hub's ("" when they are)."""
    if commit is not None and etag is not None:
        return ""
    missing = "X-Repo-Commit header" if commit is None else "ETag"
    if location != url:
        return (f"the Hugging Face Hub at {endpoint()} redirected config.json to {location} "
                f"without the Hub's file details (no {missing}): check HF_ENDPOINT and any "
                "proxy")
    if commit is None:
        return (f"the server at {endpoint()} does not answer like the Hugging Face Hub "
                "(no X-Repo-Commit header): check HF_ENDPOINT")
    return (f"the Hugging Face Hub at {endpoint()} answered without an ETag (a file that "
            "cannot be cached reliably; a proxy in the way?)")
