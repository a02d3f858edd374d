"""Plain-text tables for the terminal (no third-party formatter)."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Sequence[int] = (), indent: str = "") -> str:
    """Columns padded to the widest cell; ``right`` lists the columns aligned to the right."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return (indent + "  ".join(out)).rstrip()

    sep = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def num(value: float | int | None, fmt: str = "{:g}", missing: str = "-") -> str:
    """A number for a table cell, ``-`` when absent."""
    return missing if value is None else fmt.format(value)
