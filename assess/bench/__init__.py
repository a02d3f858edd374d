"""Quick benchmarks measured correctly: CPU and GPU GEMM, and storage (CrystalDiskMark tests).

Every benchmark is a generator that yields :class:`~assess.bench.progress.Progress` at least every
half second and returns a frozen result dataclass; closing the generator cancels it and its
``finally:`` blocks clean up (threads joined, test files removed). Torch and CuPy are imported
lazily inside functions only.
"""
