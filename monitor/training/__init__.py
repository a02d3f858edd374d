"""Following a training run: its output stream (tqdm bars, Trainer log dicts), its log folder
(TensorBoard events, ``trainer_state.json``, Lightning ``metrics.csv``), its progress, ETA and
run-aware alerts. Qt-free; the model the CLI and the GUI share is :mod:`.tracker`."""
