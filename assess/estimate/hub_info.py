"""The Hub's model info, read defensively: the safetensors parameter count per storage dtype.

The answer of ``GET /api/models/{repo}?expand=safetensors`` should be an object whose
``safetensors.parameters`` maps dtypes to whole, positive counts. Anything else (a body of
``[]``, ``safetensors`` as a string, ``parameters`` as a list, a count that is a string, a
fraction, negative, zero or larger than any model) is not used: the count is then computed from
config.json, and the note says which field was wrong. ``total`` is not needed (the counts are
summed here), so its absence is no problem.
"""

from __future__ import annotations

from collections.abc import Mapping


def _bad(field: str, value: object, what: str) -> tuple[None, str]:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return None, f"the Hub's model info is malformed: {field} is {shown}, not {what}"


def safetensors_counts(info: object, max_params: float) -> tuple[dict[str, int] | None, str]:
    """Parameters per storage dtype, or None and why not (one phrase naming the bad field).

    >>> safetensors_counts({"safetensors": {"parameters": {"BF16": 7}}}, 1e14)
    ({'BF16': 7}, '')
    >>> safetensors_counts({"safetensors": {"parameters": {"BF16": -5}}}, 1e14)[1][-42:]
    'parameters.BF16 is -5, not a whole number above zero'
    """
    if not isinstance(info, Mapping):
        return _bad("the answer", info, "a JSON object")
    weights = info.get("safetensors")
    if weights is None:
        return None, "the repo has no safetensors weights"
    if not isinstance(weights, Mapping):
        return _bad("safetensors", weights, "an object")
    params = weights.get("parameters")
    if params is None or params == {}:
        return None, "the repo has no safetensors weights"
    if not isinstance(params, Mapping):
        return _bad("safetensors.parameters", params, "an object of counts per dtype")
    counts: dict[str, int] = {}
    for dtype, value in params.items():
        field = f"safetensors.parameters.{str(dtype)[:20]}"
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return _bad(field, value, "a whole number above zero")
        if value > max_params:
            return _bad(field, value, f"a parameter count up to {max_params:.0e}")
        counts[str(dtype)] = value
    if sum(counts.values()) > max_params:
        return _bad("safetensors.parameters", sum(counts.values()),
                    f"a total up to {max_params:.0e}")
    return counts, ""
