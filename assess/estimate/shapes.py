"""Which family builds a model's shape: a ``config.json`` or a catalog entry goes to the image
family (:mod:`rigready.assess.estimate.image.shapes`) when it describes an image model, else to
the language-model family (:mod:`rigready.assess.estimate.language.config`).

This module and :mod:`rigready.assess.estimate.estimator` are the only places that choose
between the families; neither family imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rigready.assess.estimate.image import shapes as image_shapes
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language import config as language_config
from rigready.assess.estimate.model import ModelShape
from rigready.assess.jsonfile import read_json_file
from rigready.catalog.userfiles import path_exists


def shape_from_config(cfg: dict[str, Any], name: str = "config.json") -> ModelShape:
    """Build a shape from the dict of a Hugging Face (or diffusers) ``config.json``.

    Raises:
        EstimateError: the model type is not supported or a needed number is missing.
    """
    image = image_shapes.shape_from_config(cfg, name)
    if image is not None:
        return image
    return language_config.shape_from_config(cfg, name)


def shape_from_entry(entry: Any) -> ModelShape:
    """Build a shape from a catalog ``ModelEntry`` (read by field name, so any object with the
    catalog's fields works).

    Raises:
        EstimateError: the entry is not a model the estimator models.
    """
    if str(getattr(entry, "kind", "decoder")) in image_shapes.IMAGE_KINDS:
        return image_shapes.shape_from_entry(entry)
    return language_config.shape_from_entry(entry)


def shape_from_config_file(path: str | Path) -> ModelShape:
    """Read a ``config.json`` (or a folder holding one).

    Raises:
        EstimateError: the file cannot be read, is not JSON, or describes an unsupported model.
    """
    p = Path(path)
    if path_exists(p, folder=True):
        p = p / "config.json"
    name = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    return shape_from_config(read_config_file(p), name)


def read_config_file(p: Path) -> dict[str, Any]:
    """The dict of a ``config.json`` file, read with the shared size-limited strict reader (the
    one path for a user's file and a Hub download alike).

    Raises:
        EstimateError: the file cannot be read, is not JSON, or is not a JSON object.
    """

    def error(where: str, _field: str, problem: str) -> EstimateError:
        problem = problem.replace("not valid JSON", "not a valid config.json")
        return EstimateError(f"{where}: {problem}")

    data = read_json_file(p, error)
    if not isinstance(data, dict):
        raise EstimateError(f"{p}: not a valid config.json (expected a JSON object)")
    return data
