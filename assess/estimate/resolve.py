"""What model the user means: a catalog name, a ``config.json`` path, a parameter count or a
Hugging Face Hub id.

:func:`find_model` does everything that needs no network and hands back a :class:`HubRef` for a
Hub id that the catalog does not hold; :func:`resolve_model` (the CLI) then fetches it. The GUI
calls :func:`find_model` and fetches on its worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rigready.assess.estimate.hub import HubError, HubRef, fetch_hub_model, parse_hub_ref
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language.config import parse_param_count, shape_from_param_count
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.shapes import shape_from_config_file, shape_from_entry
from rigready.assess.names import Resolution, describe_failure, model_resolver
from rigready.catalog.userfiles import path_exists

#: What else MODEL may be, said when a name is unknown.
MODEL_FORMS = ("give a catalog name, a Hugging Face id such as Qwen/Qwen3-8B, a config.json "
               "path, or a parameter count like 7B")


def _from_catalog(found: Resolution[Any]) -> ModelShape:
    entry: Any = found.entry
    shape = shape_from_entry(entry)
    if found.how == "variant of":
        base = entry.hf_repo or entry.name
        note = (f"{found.query} has the architecture of catalog {entry.id} ({base}): a base "
                "model and its instruct or chat fine-tunes share their layers, so its figures "
                "are used")
        shape = replace(shape, notes=(*shape.notes, note))
    return shape


def find_model(spec: str, catalog_models: Iterable[Any] = ()) -> ModelShape | HubRef:
    """The model ``spec`` names, without touching the network.

    Order: an exact catalog name (id, display name, Hub repo, alias, or a fine-tune of one); a
    ``config.json`` path or its folder; a parameter count (``7B``); a Hub id or URL not in the
    catalog (returned as a :class:`HubRef` to fetch); the catalog by words (``mixtral``).

    Raises:
        EstimateError: an ambiguous or unknown name (with the candidates, or ranked
            suggestions), or an unreadable or unsupported config.json.
    """
    spec = spec.strip()
    models = tuple(catalog_models)
    found = model_resolver(models).resolve(spec)
    if found.found and found.how != "words":
        return _from_catalog(found)
    try:
        path = Path(spec).expanduser()
    except RuntimeError:  # "~nosuchuser/...": no such home folder, so not a path
        path = Path(spec)
    if spec.endswith(".json") or path_exists(path):  # a 5,000-digit "name" is no path
        return shape_from_config_file(path)
    count = parse_param_count(spec)
    if count is not None:
        return shape_from_param_count(count)
    ref = parse_hub_ref(spec)
    if ref is not None:
        # a Hub URL of a catalog model is that model, as its bare id is (offline too)
        by_repo = model_resolver(models).resolve(ref.repo_id)
        if ref.repo_id != spec and ref.revision in (None, "main") and by_repo.found \
                and by_repo.how != "words":
            return _from_catalog(by_repo)
        return ref
    if found.found:
        return _from_catalog(found)
    raise EstimateError(describe_failure("model", found, MODEL_FORMS))


def nearest_models(ref: HubRef, catalog_models: Iterable[Any] = (), limit: int = 3
                   ) -> tuple[Any, ...]:
    """The catalog models nearest to a Hub id's name (``someone/llama-3-8b-lora`` -> Llama
    3.1 8B ...), best first; the catalog works offline."""
    name = ref.repo_id.split("/", 1)[-1]
    return model_resolver(catalog_models).suggest(name, limit=limit)


def with_nearest(message: str, ref: HubRef, catalog_models: Iterable[Any] = ()) -> str:
    """A failed Hub look-up's sentence, with the nearest catalog models to use instead."""
    near = nearest_models(ref, catalog_models)
    if not near:
        return message
    names = ", ".join(str(getattr(m, "id", m)) for m in near)
    return f"{message}; nearest in the catalog (no network needed): {names}"


def resolve_model(spec: str, catalog_models: Iterable[Any] = ()) -> ModelShape:
    """A model from any form :func:`find_model` accepts, fetching a Hub id's config.json.

    Raises:
        EstimateError: see :func:`find_model`; a :class:`~assess.estimate.hub.HubError` when
            the Hub cannot give the config (one sentence saying what to do, and the nearest
            catalog models).
    """
    models = tuple(catalog_models)
    found = find_model(spec, models)
    if not isinstance(found, HubRef):
        return found
    try:
        return fetch_hub_model(found)
    except HubError as exc:
        raise HubError(with_nearest(str(exc), found, models)) from None
