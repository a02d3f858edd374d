"""The stream parser: chunking anywhere gives the same events, bounded memory on a 10 MB line
or binary junk, crash context lines."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from rigready.monitor.training.capture import raw_bytes
from rigready.monitor.training.events import RunProgress
from rigready.monitor.training.stream import MAX_SEGMENT, StreamParser
from tests.helpers.training import DATA

HF = raw_bytes(DATA / "hf_steady" / "capture.jsonl")


def _events(chunks: list[bytes]) -> list[tuple[object, ...]]:
    parser = StreamParser(clock=lambda: 0.0)
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    return [(type(e).__name__, getattr(e, "step", None), getattr(e, "loss", None)) for e in out]


WHOLE = _events([HF])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, len(HF)), max_size=40))
def test_cutting_the_stream_anywhere_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [HF[a:b] for a, b in zip([0, *points], [*points, len(HF)], strict=True)]
    assert _events(pieces) == WHOLE


def test_ten_megabyte_line_and_binary_junk_keep_memory_bounded() -> None:
    parser = StreamParser(clock=lambda: 0.0)
    junk = bytes(range(256)) * 64
    tracemalloc.start()
    for _ in range(160):  # 10 MiB without a line end, in 64 KiB chunks
        parser.feed(b"x" * 65536)
    for _ in range(40):
        parser.feed(junk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * MAX_SEGMENT
    events = parser.feed(b"\r 50%|#####     | 5/10 [00:01<00:01,  5.00it/s]\n")
    assert [e.step for e in events if isinstance(e, RunProgress)] == [5]
    assert parser.skipped_segments >= 1


def test_dict_gets_the_step_of_the_next_main_bar_redraw() -> None:
    parser = StreamParser(clock=lambda: 0.0)
    parser.feed(b"  8%|#         | 4/50 [00:01<00:10,  4.00it/s]\r")
    out = parser.feed(b"{'loss': '1.5', 'grad_norm': '0.3', 'learning_rate': '1e-4', "
                      b"'epoch': '0.1'}\r\n")
    assert not out  # waits for the redraw
    out = parser.feed(b" 10%|#         | 5/50 [00:01<00:09,  4.10it/s]\r")
    assert [(type(e).__name__, getattr(e, "step", None)) for e in out] == [
        ("RunMetrics", 5), ("RunProgress", 5)]


def test_last_lines_survive_crlf_split_across_chunks() -> None:
    parser = StreamParser(clock=lambda: 0.0)
    parser.feed(b"Traceback (most recent call last):\r")
    parser.feed(b"\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\r\n")
    assert parser.last_lines() == ("Traceback (most recent call last):",
                                   "torch.OutOfMemoryError: CUDA out of memory. Tried to "
                                   "allocate 2 GiB")
    assert parser.out_of_memory


def test_metrics_from_every_source_keep_their_order() -> None:
    events = [e for e in _events([HF]) if e[0] == "RunMetrics"]
    steps = [int(str(e[1])) for e in events]
    assert steps == sorted(steps) and len(events) == 24 + 3 + 1  # logs, evals, summary


def test_a_redraw_still_waiting_for_its_line_end_gives_the_dict_its_step_at_once() -> None:
    # tqdm writes the next "\r" only with the next redraw, a whole slow step later
    parser = StreamParser(clock=lambda: 0.0)
    first = parser.feed(b"\r  4%|#         | 2/50 [00:01<00:10,  4.00it/s]")
    assert [getattr(e, "step", None) for e in first] == [2]
    out = parser.feed(b"\r{'loss': '0', 'grad_norm': 'nan', 'learning_rate': '5e+04', "
                      b"'epoch': '0.1'}\r\n\r  6%|#         | 3/50 [00:01<00:09,  4.10it/s]")
    assert [(type(e).__name__, getattr(e, "step", None)) for e in out] == [
        ("RunMetrics", 3), ("RunProgress", 3)]
    later = parser.feed(b"\r  8%|#         | 4/50 [00:02<00:09,  4.10it/s]")
    assert [getattr(e, "step", None) for e in later] == [4]  # the peeked redraw is not repeated
