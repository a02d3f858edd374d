"""The language-model family of the estimator: transformer decoders and encoders (dense and
mixture-of-experts) as Hugging Face Transformers runs them, and GGUF files as llama.cpp runs
them.

Entry points (called by :mod:`rigready.assess.estimate.estimator` and
:mod:`rigready.assess.estimate.shapes`, never by the image family): :mod:`.estimate`
(``estimate``), :mod:`.memory` (``memory``), :mod:`.stack` (``assumptions``, ``error_band``),
:mod:`.config` (``shape_from_config``, ``shape_from_entry``, parameter counts) and
:mod:`.llamacpp` (``plan``, the llama.cpp runtime).
"""
