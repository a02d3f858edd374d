"""The image-model family of the estimator: torchvision classifiers (ResNet, EfficientNet,
ConvNeXt, ViT) and Stable Diffusion pipelines, from their layer walks.

Entry points (called by :mod:`rigready.assess.estimate.estimator` and
:mod:`rigready.assess.estimate.shapes`, never by the language family): :mod:`.estimate`
(``estimate``), :mod:`.memory` (``memory``), :mod:`.stack` (``assumptions``,
``IMAGE_ERROR_BAND``) and :mod:`.shapes` (``shape_from_config``, ``shape_from_entry``,
``IMAGE_KINDS``).
"""
