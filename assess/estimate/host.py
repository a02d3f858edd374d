"""System RAM and disk a job needs besides the GPU, the same for every family: loading the
checkpoint one shard at a time, the download, and a resumable checkpoint of what trains.
"""

from __future__ import annotations

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import HostNeeds
from rigready.assess.units import GIB, format_bytes

#: A Python process with torch, CUDA libraries and transformers loaded (RSS), bytes.
PROCESS_BASE_RAM = int(3.0 * GIB)
#: Hugging Face checkpoints are saved in shards of at most this size (transformers default).
SHARD_BYTES = 5 * 10**9


def host_needs(shape: ModelShape, wl: Workload, mem: MemoryBreakdown) -> HostNeeds:
    """RAM (the load-time peak included) and disk for weights and one checkpoint."""
    # GPT-2's and BERT's hub checkpoints and torchvision's classifier weights are fp32
    fp32_stored = shape.family in ("gpt2", "bert") or shape.is_image_classifier
    stored_dtype_bytes = 4 if fp32_stored else 2
    download = shape.params * stored_dtype_bytes
    shard = min(download, SHARD_BYTES)
    # safetensors shards are memory-mapped and copied to the GPU one at a time; a quantized
    # load materialises a shard in bf16 before quantizing it
    load_peak = PROCESS_BASE_RAM + shard * (2 if wl.resolved_precision in ("int8", "nf4") else 1)
    ram = load_peak
    reasons = [f"loading: {PROCESS_BASE_RAM / GIB:.0f} GiB for Python, torch and CUDA plus "
               f"one {format_bytes(shard)} checkpoint shard at a time"]
    if wl.method == "full":
        ckpt = shape.params * (4 + 8) if wl.optimizer == "adamw" else shape.params * 6
        reasons.append("a resumable checkpoint holds fp32 weights and optimizer states")
    else:
        ckpt = mem.trainable_params * 12 if wl.training else 0
    return HostNeeds(ram_bytes=int(ram), load_peak_bytes=int(load_peak),
                     disk_bytes=int(download + ckpt), reasons=tuple(reasons))
