"""A 100 MB TensorBoard event file is tailed, not re-read (issue 21, item 2).

Writes an event file of ``--mb`` megabytes with tensorboard's own writer (text summaries of
10 KB, as the Trainer logs its arguments, plus scalars), lets ``rigready``'s watcher read it once,
then appends 100 scalar records at a time and times each poll: a poll costs what was appended,
not the file's size. Needs the tensorboard package (``pip install 'rigready[watch]'``).

    python benchmarks/tensorboard_tail.py [--mb 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0)
    args = parser.parse_args()
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from rigready.monitor.training.events import RunMetrics
    from rigready.monitor.training.watch import RunWatcher

    def scalar(step: int, tag: str, value: float) -> event_pb2.Event:
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag,
                                                                       simple_value=value)])
        return event_pb2.Event(wall_time=time.time(), step=step, summary=summary)

    def text(step: int) -> event_pb2.Event:
        value = summary_pb2.Summary.Value(tag="notes/text_summary")
        value.metadata.plugin_data.plugin_name = "text"
        value.tensor.dtype = 7  # DT_STRING
        value.tensor.string_val.append(b"x" * 10_000)
        return event_pb2.Event(wall_time=time.time(), step=step,
                               summary=summary_pb2.Summary(value=[value]))

    with tempfile.TemporaryDirectory() as tmp:
        writer = EventFileWriter(tmp, flush_secs=3600)
        step = 0
        t0 = time.perf_counter()
        target = args.mb * 1e6
        path = None
        while True:
            step += 1
            writer.add_event(text(step))
            writer.add_event(scalar(step, "train/loss", 1.0 / step))
            if step % 500 == 0:
                writer.flush()
                path = next(Path(tmp).glob("events.out.tfevents.*"))
                if path.stat().st_size >= target:
                    break
        writer.flush()
        assert path is not None
        size = path.stat().st_size
        print(f"wrote {size / 1e6:.1f} MB ({step} steps) in {time.perf_counter() - t0:.1f} s")
        watcher = RunWatcher(Path(tmp), clock=time.time, rescan_s=3600)
        t = time.perf_counter()
        first = [e for e in watcher.poll() + watcher.poll() if isinstance(e, RunMetrics)]
        print(f"first read (whole file): {time.perf_counter() - t:.2f} s, {len(first)} records")
        polls = []
        for _ in range(10):
            for _ in range(100):
                step += 1
                writer.add_event(scalar(step, "train/loss", 1.0 / step))
            writer.flush()
            t = time.perf_counter()
            new = [e for e in watcher.poll() + watcher.poll() if isinstance(e, RunMetrics)]
            polls.append(time.perf_counter() - t)
            assert len(new) >= 99, len(new)
        writer.close()
        print(f"each later poll (100 new records appended to the {size / 1e6:.0f} MB file): "
              f"median {1000 * statistics.median(polls):.1f} ms, max {1000 * max(polls):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
