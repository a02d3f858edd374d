"""Measure a workload on this machine's GPU: build the model from its ``config.json`` with random
weights (no download), run a few real steps in a child process, report peak memory and step time.

One runner serves ``rigready estimate --measure``, the "Measure on this GPU" button and the
calibration benchmark (``benchmarks/calibrate_memory.py``): :mod:`rigready.assess.measure.spec` says
what to run, :mod:`rigready.assess.measure.child` runs it (torch imported there only), and
:mod:`rigready.assess.measure.launch` starts the child with a timeout, polls NVML and collects the
result.
"""
