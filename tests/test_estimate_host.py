"""RAM and disk beside the GPU: the loading line reads well for small and large checkpoints."""

from __future__ import annotations

from rigready.assess.estimate import estimate
from rigready.assess.estimate.image.shapes import image_shape
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language.config import shape_from_param_count


def _loading_line(reasons: tuple[str, ...]) -> str:
    return next(r for r in reasons if r.startswith("loading:"))


def test_a_small_checkpoint_is_not_shown_as_zero_gib() -> None:
    shape = image_shape("resnet50", "resnet50")  # about 100 MB of fp32 weights
    est = estimate(shape, Workload(method="full", precision="fp32", batch=8, image_size=224),
                   None, search=False)
    line = _loading_line(est.host.reasons)
    assert "0.0 GiB" not in line
    assert "97.5 MiB checkpoint shard" in line  # 25.6M fp32 weights, as torchvision saves them


def test_a_large_checkpoint_is_one_shard_of_at_most_five_gb() -> None:
    est = estimate(shape_from_param_count(8_000_000_000), Workload(method="inference"), None,
                   search=False)
    line = _loading_line(est.host.reasons)
    assert "4.7 GiB checkpoint shard" in line  # transformers' 5 GB shards
