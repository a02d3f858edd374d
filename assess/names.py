"""Find catalog models and GPUs by the names people type, like a search box.

One resolver for the command line (``estimate``, ``plan``), the GUI's search boxes and their
completers, and (through :func:`normalize_name`) profile GPU matching in
:mod:`rigready.assess.match`.

A name is compared as words: lower case, punctuation to spaces, ``12 GB`` joined to ``12gb``,
a series prefix glued to its number split (``rtx4090`` -> ``rtx 4090``), and for GPUs the vendor
and marketing words dropped ("NVIDIA GeForce", "Radeon", "Graphics"). Distinguishing words such
as ``Laptop``, ``Ti`` or ``SUPER`` are kept. An entry is looked up, in order, by

1. the exact words of its id, display name, Hugging Face repo id (with or without the org) or an
   alias: ``H200``, ``NVIDIA GeForce RTX 4090``, ``meta-llama/Llama-3.1-8B``, ``Llama 3.1 8B``;
2. for models, the same after dropping, on both sides, fine-tune words that keep the
   architecture (``Qwen/Qwen2.5-7B-Instruct`` is Qwen2.5 7B, ``google/gemma-3-4b-pt`` is the
   catalog's gemma-3-4b-it);
3. every typed word being one of the name's words, where the name has no distinguishing word
   the query lacks: ``4090`` is the RTX 4090 (not the RTX 4090 Laptop GPU).

When several entries match equally (``RTX 3060``: the 12 GB and the 8 GB card) the resolution
is ambiguous and lists them rather than picking one. When nothing matches it carries suggestions
ranked by similarity: words that are sizes (``8b``, ``24gb``) are compared by ratio, model
numbers from their leading digits, other words by their spelling.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from rigready.catalog import GpuEntry, ModelEntry

E = TypeVar("E")
Kind = Literal["gpu", "model"]

#: Vendor and marketing words that name no particular card.
GPU_BRAND_WORDS = frozenset({
    "nvidia", "amd", "ati", "intel", "geforce", "radeon", "tesla", "quadro", "gpu", "graphics",
    "corporation", "r", "tm", "with", "design",
})
#: Words that, next to a model number, name a different card than the number alone.
GPU_VARIANT_WORDS = frozenset({
    "ti", "super", "xt", "xtx", "gre", "ada", "laptop", "mobile", "maxq", "d", "nvl", "titan",
})
#: Fine-tune suffixes that keep the base model's architecture (and so its memory figures).
MODEL_VARIANT_WORDS = frozenset({"instruct", "it", "chat", "hf", "base", "pt"})
#: Series prefixes people glue to the number ("rtx4090", "rx7900").
_SERIES_GLUE = re.compile(r"^(rtx|gtx|gt|rx|mx|arc)(\d{3,4}\w*)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(k|m|b|t|gb|gib|mb|tb)$")
_UNITS = {"k": ("count", 1e3), "m": ("count", 1e6), "b": ("count", 1e9), "t": ("count", 1e12),
          "mb": ("bytes", 2**20), "gb": ("bytes", 2**30), "gib": ("bytes", 2**30),
          "tb": ("bytes", 2**40)}
_FRAGMENT = "detection name"
#: How many candidates an ambiguity or a failure lists.
SHOWN = 5


def normalize_name(text: str, drop: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The words of a name as the resolver sees them.

    >>> normalize_name("NVIDIA GeForce RTX 3060 12 GB", GPU_BRAND_WORDS)
    ('rtx', '3060', '12gb')
    >>> normalize_name("meta-llama/Llama-3.1-8B")
    ('meta', 'llama', 'llama', '3.1', '8b')
    """
    text = text.lower().replace("®", " ").replace("™", " ").replace("max-q", "maxq")
    words: list[str] = []
    for raw in re.sub(r"[^a-z0-9.]+", " ", text).split():
        word = raw.strip(".")
        if not word:
            continue
        if word in ("gb", "gib") and words and words[-1].isdigit():
            words[-1] += "gb"
            continue
        if word.endswith("gib") and word[:-3].isdigit():
            word = word[:-3] + "gb"
        glued = _SERIES_GLUE.match(word)
        parts = [glued.group(1), glued.group(2)] if glued else [word]
        words.extend(p for p in parts if p not in drop)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class Resolution(Generic[E]):
    """What a typed name found: one entry, several equally good ones, or suggestions."""

    query: str
    entry: E | None = None
    #: Entries that match equally well (the query is ambiguous), in catalog order.
    candidates: tuple[E, ...] = ()
    #: Nothing matched: the nearest entries, best first.
    suggestions: tuple[E, ...] = ()
    #: How the entry was found (``"id"``, ``"name"``, ``"Hugging Face repo"``, ``"alias"``,
    #: ``"variant of"`` or ``"words"``); empty when not found.
    how: str = ""

    @property
    def found(self) -> bool:
        """Whether exactly one entry was found."""
        return self.entry is not None

    @property
    def ambiguous(self) -> bool:
        """Whether several entries match equally well."""
        return self.entry is None and len(self.candidates) > 1


@dataclass(frozen=True, slots=True)
class _Named(Generic[E]):
    entry: E
    #: (how, words) for every name the entry answers to.
    names: tuple[tuple[str, tuple[str, ...]], ...]
    ident: str = field(default="")


def _gpu_names(entry: GpuEntry) -> tuple[tuple[str, tuple[str, ...]], ...]:
    names = [("id", entry.id), ("name", entry.name)]
    names += [("alias", a) for a in getattr(entry, "aliases", ())]
    # detection fragments ("A100" stands for the SXM4 80 GB card when a driver says no more)
    # are not exact names a typed query should pick one card by; they count as words only
    names += [(_FRAGMENT, m) for m in entry.match]
    return tuple((how, normalize_name(text, GPU_BRAND_WORDS)) for how, text in names)


def _model_names(entry: ModelEntry) -> tuple[tuple[str, tuple[str, ...]], ...]:
    names = [("id", entry.id), ("name", entry.name)]
    repo = getattr(entry, "hf_repo", None)
    if repo:
        names += [("Hugging Face repo", repo), ("Hugging Face repo", repo.split("/", 1)[-1])]
    names += [("alias", a) for a in getattr(entry, "aliases", ())]
    return tuple((how, normalize_name(text)) for how, text in names)


def _key(words: Iterable[str]) -> str:
    return "".join(words)


def _size(word: str) -> tuple[str, float] | None:
    found = _SIZE.match(word)
    if not found:
        return None
    unit, scale = _UNITS[found.group(2)]
    value = float(found.group(1)) * scale
    return (unit, value) if value > 0 else None


def _word_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    sa, sb = _size(a), _size(b)
    if sa is not None and sb is not None and sa[0] == sb[0]:
        # 8B vs 7B is near, 8B vs 32B far: compare sizes by ratio (a factor 16 scores zero)
        return max(0.0, 1.0 - abs(math.log(sa[1] / sb[1])) / math.log(16))
    spelling = difflib.SequenceMatcher(None, a, b).ratio()
    if a.isdigit() and b.isdigit():
        # model numbers read from the left: 3095 is nearer 3090 than 3050, 3060 than 4060
        common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                      min(len(a), len(b)))
        prefix = common / max(len(a), len(b))
        return 0.5 * (prefix + spelling)
    return spelling


def similarity(query: Sequence[str], name: Sequence[str]) -> float:
    """How alike two word lists are, 0 to 1 (symmetric: extra words on either side cost)."""
    if not query or not name:
        return 0.0
    forward = sum(max(_word_similarity(q, n) for n in name) for q in query)
    backward = sum(max(_word_similarity(n, q) for q in query) for n in name)
    words = (forward + backward) / (len(query) + len(name))
    chars = difflib.SequenceMatcher(None, _key(query), _key(name)).ratio()
    return 0.8 * words + 0.2 * chars


def _contains(query: tuple[str, ...], name: tuple[str, ...], variants: frozenset[str]) -> bool:
    """Every query word is a word of the name, and the name has no variant word the query lacks."""
    if not query:
        return False
    remaining = list(name)
    for word in query:
        if word not in remaining:
            return False
        remaining.remove(word)
    return not any(w in variants and w not in query for w in name)


class Resolver(Generic[E]):
    """Looks up one kind of catalog entry by typed names (build once, query many times)."""

    def __init__(self, entries: Iterable[E],
                 names: Callable[[E], tuple[tuple[str, tuple[str, ...]], ...]],
                 drop: frozenset[str], variants: frozenset[str],
                 fine_tune_words: frozenset[str] = frozenset()) -> None:
        self._named = [_Named(e, names(e)) for e in entries]
        self._drop = drop
        self._variants = variants
        self._fine_tune = fine_tune_words

    @property
    def entries(self) -> tuple[E, ...]:
        """Every entry, in catalog order."""
        return tuple(n.entry for n in self._named)

    def words(self, text: str) -> tuple[str, ...]:
        """``text`` normalised the way this resolver compares names."""
        return normalize_name(text, self._drop)

    def resolve(self, text: str) -> Resolution[E]:
        """Find the entry ``text`` names (see the module docstring for the order)."""
        query = self.words(text)
        if not query:
            return Resolution(text, suggestions=())
        exact = self._exact(_key(query))
        if exact:
            return self._result(text, exact)
        if self._fine_tune:
            # the base of a catalog fine-tune or a fine-tune of a catalog base: the same words
            # once the fine-tune words are dropped on both sides
            base = tuple(w for w in query if w not in self._fine_tune)
            stripped = self._exact(_key(base), strip=self._fine_tune) if base else []
            if stripped:
                return self._result(text, [(n, "variant of") for n, _ in stripped])
        within = [(n, "words") for n in self._named
                  if any(_contains(query, words, self._variants) for _, words in n.names)]
        if within:
            return self._result(text, within)
        return Resolution(text, suggestions=self.suggest(text))

    def suggest(self, text: str, limit: int = SHOWN) -> tuple[E, ...]:
        """The entries nearest to ``text``, best first (ties keep catalog order)."""
        query = self.words(text)
        if not query:
            return self.entries[:limit]
        scored = [(self._score(query, n), i) for i, n in enumerate(self._named)]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return tuple(self._named[i].entry for _, i in scored[:limit])

    def _score(self, query: tuple[str, ...], named: _Named[E]) -> float:
        return max(similarity(query, words) for _, words in named.names)

    def _exact(self, key: str, strip: frozenset[str] = frozenset()
               ) -> list[tuple[_Named[E], str]]:
        found: list[tuple[_Named[E], str]] = []
        for named in self._named:
            how = next((h for h, words in named.names if h != _FRAGMENT
                        and _key(w for w in words if w not in strip) == key), None)
            if how is not None:
                found.append((named, how))
        return found

    def _result(self, text: str, found: list[tuple[_Named[E], str]]) -> Resolution[E]:
        if len(found) == 1:
            named, how = found[0]
            return Resolution(text, entry=named.entry, candidates=(named.entry,), how=how)
        return Resolution(text, candidates=tuple(n.entry for n, _ in found))


def gpu_resolver(gpus: Iterable[GpuEntry]) -> Resolver[GpuEntry]:
    """A resolver over catalog GPUs (ids, names, aliases and detection fragments)."""
    return Resolver(gpus, _gpu_names, GPU_BRAND_WORDS, GPU_VARIANT_WORDS)


def model_resolver(models: Iterable[ModelEntry]) -> Resolver[ModelEntry]:
    """A resolver over catalog models (ids, names, Hugging Face repos and aliases)."""
    return Resolver(models, _model_names, frozenset(), frozenset(), MODEL_VARIANT_WORDS)


def _label(entry: object) -> str:
    ident, name = str(getattr(entry, "id", entry)), str(getattr(entry, "name", ""))
    return f"{ident} ({name})" if name and name != ident else ident


def describe_failure(kind: Kind, result: Resolution[E], extra_hint: str = "") -> str:
    """One sentence for a name that did not resolve: the candidates, or ranked suggestions.

    Args:
        kind: ``"gpu"`` or ``"model"`` (the word used in the sentence).
        result: an ambiguous or empty resolution.
        extra_hint: what else the user may give (appended when there is nothing to suggest).
    """
    word = "GPU" if kind == "gpu" else "model"
    if result.ambiguous:
        shown = ", ".join(_label(e) for e in result.candidates[:SHOWN])
        more = len(result.candidates) - SHOWN
        tail = f" and {more} more" if more > 0 else ""
        return (f"{result.query!r} matches several catalog {word}s: {shown}{tail}; "
                "give one of these ids")
    if result.suggestions:
        close = ", ".join(str(getattr(e, "id", e)) for e in result.suggestions[:3])
        hint = f"; did you mean {close}?"
        return f"unknown {word} {result.query!r}{hint}" + (f" ({extra_hint})" if extra_hint
                                                           else "")
    return f"unknown {word} {result.query!r}" + (f" ({extra_hint})" if extra_hint else "")


class NameLookupError(ValueError):
    """A typed name found no single catalog entry; the message lists candidates or suggestions."""


def find_gpu(text: str, gpus: Iterable[GpuEntry]) -> GpuEntry:
    """The catalog GPU ``text`` names (``H200``, ``RTX 4090``, ``rtx-3060-12gb``).

    Raises:
        NameLookupError: ambiguous (the candidates are listed) or unknown (ranked suggestions).
    """
    found = gpu_resolver(gpus).resolve(text)
    if found.entry is None:
        raise NameLookupError(describe_failure("gpu", found))
    return found.entry
