"""Qt-free use cases that the command line (``rigready.desktop.commands``) and the window
(``rigready.desktop.pages``, ``rigready.desktop.widgets``, ``rigready.desktop.app``) both call.

Each use case lives here once; the CLI adds argparse and printing, the window adds widgets.
Nothing here imports Qt, pyqtgraph or ``rigready.desktop.commands`` (import-linter contracts in
pyproject.toml), so every module runs on a headless server and in the core test suite.

- :mod:`.errors`: :class:`~.errors.UsageError`, bad input said in one line (exit status 2);
- :mod:`.bench`: a benchmark result with its comparisons, saving it, the history and how its
  rows are named;
- :mod:`.measure`: measuring an estimate's job on this PC's GPU, the measured history and the
  estimate corrected by it;
- :mod:`.answers`: an estimate's answer in words where both say it the same way (a PC without
  a GPU, the largest batch and sequence);
- :mod:`.readiness`: the saved benchmark figures a readiness score uses.
"""
