"""The Qt desktop app and the Qt-free command line. Only this package may import Qt."""

#: rigready's version: the same as ``[project] version`` in pyproject.toml (a test checks). A
#: constant rather than ``importlib.metadata``, which takes longer to import than the whole of
#: ``rigready --version`` should, and has no metadata to read in a source tree or the bundle.
__version__ = "0.1.0"
