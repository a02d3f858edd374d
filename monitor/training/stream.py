"""The run's output stream, read from a copy of the bytes the wrapper passes through.

Bytes are cut into segments at ``\\r`` and ``\\n`` (tqdm redraws with ``\\r``; the pty turns
``\\n`` into ``\\r\\n``), decoded as UTF-8 (bad bytes replaced), and freed of terminal escapes
(colours, cursor moves). A segment longer than :data:`MAX_SEGMENT` is dropped up to its end, so
memory stays bounded whatever the child prints (a 10 MB line, binary junk).

Each segment may be a progress bar (:mod:`.tqdm_parse`), a Trainer log dict or banner line
(:mod:`.trainer_log`), an out-of-memory report, or anything else. Most segments are neither, so
the bytes are looked at first (:func:`_candidate`: a bar has ``/`` and ``[`` or ``•``, a dict
``{``, a banner ``=``...) and only candidates are decoded and parsed; the last lines a crash
report needs are kept as bytes and decoded when asked for.

Lightning's Rich bar wraps its metrics onto the next line when they do not fit (``... train_loss:``
then ``248.449 val_loss: 265.400`` on a line of its own, redrawn with a cursor-up): a bar that
ends a line holds its metrics until the next segment says whether it continues them.

The Trainer prints a log dict just before redrawing its bar at the step that logged it, so a
dict's step is the count of the *next* main-bar redraw (checked against ``log_history`` in
tests/test_run_fixtures.py).

Bars: the *main* bar is the run's training bar. Data and evaluation bars (``Map``,
``Validation``, ``Sanity Checking``...) never are; another bar that appears while the main one is
unfinished (the Trainer's nested evaluation bar) is secondary. Once the main bar has finished, a
new bar replaces it when its total is at least as large, or when the main bar has not been drawn
for :data:`PHASE_GAP_S` (the next phase or stage); a short bar right after the end (the
Trainer's final evaluation) does not.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rigready.monitor.training.events import RunEvent, RunMetrics, RunProgress
from rigready.monitor.training.tqdm_parse import (
    COLON_PAIRS,
    BarReading,
    metrics_from_bar,
    parse_bar,
    postfix_metrics,
)
from rigready.monitor.training.trainer_log import (
    metrics_from_dict,
    parse_banner,
    parse_log_dict,
    says_out_of_memory,
)

#: Longest segment (bytes between two line ends) that is parsed; longer ones are skipped.
MAX_SEGMENT = 64 * 1024
#: Lines kept for a crash report, each cut to :data:`MAX_LINE_CHARS`.
KEEP_LINES = 30
MAX_LINE_CHARS = 300
#: A finished main bar silent this long gives way to any new bar.
PHASE_GAP_S = 30.0
_SPLIT = re.compile(rb"\r\n|[\r\n]")
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SIDE_BARS = re.compile(
    r"^(?:validation|valid|val|sanity checking|testing|test|predicting|predict|eval|evaluating|"
    r"evaluation|map|filter|loading|downloading|fetching|generating|tokeniz|resolving|saving|"
    r"uploading|extracting|computing|reading|writing|preparing|processing)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_BULLET = "•".encode()
#: A continuation of a wrapped Rich bar: metric names and numbers, nothing else.
_WRAPPED = re.compile(r"^(?:[A-Za-z_][\w./-]*:\s*|[-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|nan|inf)\s*)+$",
                      re.IGNORECASE)


def _candidate(raw: bytes) -> bool:
    """Whether a segment may be a bar, a log dict, a banner or peft line, or an out-of-memory
    report (everything else is only kept for the crash report)."""
    return ((b"/" in raw and (b"[" in raw or _BULLET in raw)) or b"{" in raw or b"=" in raw
            or b"emory" in raw or b"trainable params" in raw or b"ALLOC_FAILED" in raw
            or b"*****" in raw)


def clean(segment: bytes) -> str:
    """Decode a segment and remove terminal escapes and control characters."""
    text = segment.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    return _CONTROL.sub("", text).strip()


@dataclass(slots=True)
class _Bar:
    key: tuple[str, str, int | None]
    last_seen: float
    finished: bool = False


@dataclass(slots=True)
class StreamParser:
    """Feed it the child's output bytes in order; it returns the events they contained."""

    clock: Callable[[], float]
    max_segment: int = MAX_SEGMENT
    _buffer: bytearray = field(default_factory=bytearray)
    _skipping: bool = False
    _main: _Bar | None = None
    _step: int | None = None
    _pending: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _lines: deque[bytes] = field(default_factory=lambda: deque(maxlen=KEEP_LINES))
    #: A segment ended by a lone "\r": a line if a "\n" follows in the next chunk.
    _cr_line: bytes = b""
    #: A bar read before its line end arrived (see :meth:`_peek`).
    _peeked: str = ""
    #: A Rich bar that ended a line: its metrics may continue on the next one.
    _wrapped: tuple[BarReading, int | None, str] | None = None
    #: Inside the Trainer's "***** Running training *****" block (its evaluation block also
    #: says "Num examples").
    _training_block: bool = False
    #: The output reported running out of device memory.
    out_of_memory: bool = False
    #: Segments skipped for being longer than ``max_segment``.
    skipped_segments: int = 0
    bytes_seen: int = 0

    def feed(self, data: bytes) -> list[RunEvent]:
        """Parse ``data`` (any chunk of the stream); returns the events of complete segments."""
        self.bytes_seen += len(data)
        out: list[RunEvent] = []
        start = 0
        for m in _SPLIT.finditer(data):
            self._take(data[start:m.start()], m.group() != b"\r", out)
            start = m.end()
        rest = data[start:]
        if self._skipping:
            return out
        if len(self._buffer) + len(rest) > self.max_segment:
            self._buffer.clear()
            self._skipping = True
            self.skipped_segments += 1
        else:
            self._buffer += rest
            self._peek(out)
        return out

    def _peek(self, out: list[RunEvent]) -> None:
        """Read a bar still waiting for its line end. tqdm ends a redraw with ``]`` and writes
        the next ``\r`` only with the next redraw, which may be a whole (slow) step later; the
        Trainer's log dict waits for this redraw to get its step, so a NaN would be told a
        step late. The bar is read now and skipped when its end arrives."""
        tail = bytes(self._buffer[-8:]).rstrip()
        if not tail.endswith(b"]") or b"/" not in self._buffer:
            return
        text = clean(bytes(self._buffer))
        if text == self._peeked:
            return
        reading = parse_bar(text, self.clock())
        if reading is not None:
            self._peeked = text
            self._bar(reading, out)

    def close(self) -> list[RunEvent]:
        """The stream ended: parse what is left and give pending log dicts the last step."""
        out: list[RunEvent] = []
        if self._buffer and not self._skipping:
            self._segment(bytes(self._buffer), True, out)
        self._buffer.clear()
        self._skipping = False
        self._unwrap(None, out)
        self._flush_pending(self._step, out)
        return out

    def last_lines(self) -> tuple[str, ...]:
        """The last lines printed (for a crash report), oldest first."""
        lines: list[str] = []
        for raw in self._lines:
            text = clean(raw)[:MAX_LINE_CHARS]
            if text and (not lines or lines[-1] != text):
                lines.append(text)
        return tuple(lines)

    @property
    def step(self) -> int | None:
        """The main bar's latest count."""
        return self._step

    def _take(self, piece: bytes, newline: bool, out: list[RunEvent]) -> None:
        if self._skipping:  # the end of an over-long segment: drop it, resume after it
            self._skipping = False
            self._buffer.clear()
            return
        if self._buffer:
            if len(self._buffer) + len(piece) > self.max_segment:
                self._buffer.clear()
                self.skipped_segments += 1
                return
            piece = bytes(self._buffer) + piece
            self._buffer.clear()
        elif len(piece) > self.max_segment:
            self.skipped_segments += 1
            return
        if piece:
            self._segment(piece, newline, out)
        elif newline and self._cr_line:  # "\r" ended one chunk and "\n" began the next
            self._keep_line(self._cr_line)
            self._cr_line = b""

    def _segment(self, raw: bytes, newline: bool, out: list[RunEvent]) -> None:
        if newline:
            self._keep_line(raw)
            self._cr_line = b""
        else:
            self._cr_line = raw
        if self._wrapped is None and not _candidate(raw):
            self._peeked = ""
            return
        text = clean(raw)
        if not text:
            return
        if self._wrapped is not None and self._unwrap(text, out):
            return
        now = self.clock()
        if not self.out_of_memory and "emory" in text and says_out_of_memory(text):
            self.out_of_memory = True
        if text == self._peeked:  # already read before its line end came
            self._peeked = ""
            return
        self._peeked = ""
        reading = parse_bar(text, now)
        if reading is not None:
            self._bar(reading, out, newline)
            return
        if "{" in text:
            fields = parse_log_dict(text)
            if fields is not None:
                self._pending.append((now, fields))
                return
        if "***** Running" in text:
            self._training_block = "running training" in text.lower()
        elif "trainable params" in text or ("=" in text and self._training_block):
            hints = parse_banner(text, now)
            if hints is not None:
                out.append(hints)

    def _keep_line(self, raw: bytes) -> None:
        if not self._lines or self._lines[-1] != raw:
            self._lines.append(raw[:4 * MAX_LINE_CHARS])

    def _unwrap(self, text: str | None, out: list[RunEvent]) -> bool:
        """Give a held Rich bar its metrics, with ``text`` when it continues them; whether
        ``text`` was that continuation."""
        held, self._wrapped = self._wrapped, None
        if held is None:
            return False
        reading, step, desc = held
        joined = text is not None and _WRAPPED.match(text) is not None
        if joined:
            assert text is not None
            values = dict(reading.metrics)
            values.update(postfix_metrics(f"{desc} {text}", COLON_PAIRS))
            reading = BarReading(reading.progress, values)
        metrics = metrics_from_bar(reading, step)
        if metrics is not None:
            out.append(metrics)
        return joined

    def _bar(self, reading: BarReading, out: list[RunEvent], newline: bool = False) -> None:
        self._unwrap(None, out)
        p = reading.progress
        key = ("rich" if p.source == "rich" else "tqdm", _DIGITS.sub("#", p.desc), p.total)
        if _SIDE_BARS.match(p.desc):
            return
        main = self._main
        if main is None or (main.key != key and main.finished and (
                (p.total or 0) >= (main.key[2] or 0) or p.time - main.last_seen >= PHASE_GAP_S)):
            main = self._main = _Bar(key, p.time)
        elif main.key != key:
            return  # a nested bar (the Trainer's evaluation), or a short one after the end
        main.last_seen = p.time
        main.finished = p.total is not None and p.step >= p.total
        progress = _global(p)
        self._step = progress.step
        self._flush_pending(progress.step, out)
        out.append(progress)
        if newline and p.source == "rich":  # its metrics may go on on the next line
            self._wrapped = (reading, progress.step, reading.metrics_text)
            return
        metrics = metrics_from_bar(reading, progress.step)
        if metrics is not None:
            out.append(metrics)

    def _flush_pending(self, step: int | None, out: list[RunEvent]) -> None:
        for seen, fields in self._pending:
            out.append(metrics_from_dict(fields, seen, step))
        self._pending.clear()


def _global(p: RunProgress) -> RunProgress:
    """A per-epoch bar with a known epoch count ("Epoch 2/9") as progress over the whole run."""
    if p.epoch is None or p.epochs is None or not p.total:
        return p
    from dataclasses import replace

    return replace(p, step=p.epoch * p.total + p.step, total=p.epochs * p.total)


def metrics_only(events: list[RunEvent]) -> list[RunMetrics]:
    """The metrics records among ``events``."""
    return [e for e in events if isinstance(e, RunMetrics)]


def progress_only(events: list[RunEvent]) -> list[RunProgress]:
    """The progress readings among ``events``."""
    return [e for e in events if isinstance(e, RunProgress)]
