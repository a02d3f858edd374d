"""The cheap paths of following a run (issue 21's CPU target) give the same answers as the
general ones: the flat-dict regular expression against ``ast.literal_eval`` on every log dict the
real Trainers printed, the bytes prefilter against parsing every segment, and the process tree
looked up every few seconds."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time

import pytest

from rigready.monitor.training import stream, trainer_log
from rigready.monitor.training.capture import raw_bytes
from rigready.monitor.training.process import ProcessTree
from tests.helpers.training import DATA, replay

CAPTURES = sorted(str(p.parent.relative_to(DATA)) for p in DATA.rglob("capture.jsonl"))


def _dict_lines() -> list[str]:
    lines = []
    for job in CAPTURES:
        text = raw_bytes(DATA / job / "capture.jsonl").decode("utf-8", "replace")
        lines += [m for m in re.findall(r"\{[^\r\n{}]*\}", text) if "'" in m]
    return lines


def test_the_flat_dict_expression_reads_what_literal_eval_reads() -> None:
    lines = _dict_lines()
    assert len(lines) > 250
    for line in lines:
        assert trainer_log._FLAT_DICT.fullmatch(line) is not None, line
        slow = ast.literal_eval(trainer_log._BARE.sub(lambda m: f"'{m[1]}{m[2]}'", line))
        want = {k: v for k, v in ((k, trainer_log._number(v)) for k, v in slow.items())
                if v is not None}
        assert repr(trainer_log.parse_log_dict(line)) == repr(want)


@pytest.mark.parametrize("job", CAPTURES)
def test_the_prefilter_loses_no_event(job: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = replay(job)
    monkeypatch.setattr(stream, "_candidate", lambda raw: True)
    every, _ = replay(job)
    assert repr(fast) == repr(every)  # repr: NaN equals itself there


def test_new_children_are_found_at_the_next_look() -> None:
    code = "import subprocess, sys, time; time.sleep(0.3); " \
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)']); time.sleep(5)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        tree = ProcessTree(proc.pid, children_every_s=3600.0)
        assert tree.pids() == frozenset({proc.pid})
        time.sleep(1.5)
        assert tree.pids() == frozenset({proc.pid})  # not looked for again yet
        again = ProcessTree(proc.pid, children_every_s=0.0)
        assert len(again.pids()) == 2
    finally:
        proc.kill()
        proc.wait()
    assert ProcessTree(proc.pid).pids() == frozenset()
    assert os.getpid() not in tree.pids()  # the root gone: the tree is empty
