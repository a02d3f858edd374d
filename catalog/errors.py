"""The catalog's own error type: every problem names the file, the entry and the field."""

from __future__ import annotations


def _one_line(text: str) -> str:
    """Control characters (a key such as "a\\nb") shown escaped, so the message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CatalogError(ValueError):
    """A catalog file that cannot be used.

    The message reads ``FILE: entry ID: field: problem``; parts that do not apply (a file that
    is not TOML at all has no entry or field) are left out.

    Attributes:
        path: the file (or folder) concerned.
        entry: the entry id, or a position such as ``gpu[3]`` when the id itself is the problem;
            empty when the problem is not inside an entry.
        field: the key concerned; empty when the problem concerns the whole entry or file.
        problem: what is wrong, in words.
    """

    def __init__(self, path: str, entry: str, field: str, problem: str) -> None:
        self.path = path
        self.entry = entry
        self.field = field
        self.problem = problem
        parts = [path]
        if entry:
            parts.append(f"entry {entry}")
        if field:
            parts.append(field)
        parts.append(problem)
        super().__init__(_one_line(": ".join(parts)))

    def __reduce__(self) -> tuple[type[CatalogError], tuple[str, str, str, str]]:
        return (type(self), (self.path, self.entry, self.field, self.problem))
