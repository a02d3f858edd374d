"""``gui --screenshot`` never replaces a file the command reads (issue 24, item 5): the profile it
shows or the database it replays. Real offscreen runs of the CLI, both at once (~5 s)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sampler import Sampler
from tests.helpers.monitor_procs import ROOT, env

PROFILE = ROOT / "tests/data/rigs/profiles/rtx4090-desktop.json"


def test_a_screenshot_over_its_own_profile_or_database_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    shutil.copyfile(PROFILE, profile)
    db = tmp_path / "m.db"
    sampler = Sampler([FakeProvider()], db_path=db, retention=None)
    sampler.open_session("kept")
    sampler.tick()
    sampler.close_session()
    before = {path: path.read_bytes() for path in (profile, db)}
    runs = [["--screenshot", str(profile), "--profile", str(profile), "--force"],
            ["--screenshot", str(db), "--db", str(db), "--force"]]
    procs = [subprocess.Popen([sys.executable, "-m", "rigready.desktop", "gui", *args],
                              env=env(tmp_path, QT_QPA_PLATFORM="offscreen"), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in runs]
    for proc, path in zip(procs, before, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (out, err)
        assert err.strip().splitlines()[-1] == (
            f"rigready: error: {path}: refusing to write over {path}, which this command "
            "reads; choose another file"), err
        assert "Saved" not in out
    assert {path: path.read_bytes() for path in before} == before
