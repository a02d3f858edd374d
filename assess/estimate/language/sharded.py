"""Training sharded over GPUs: FSDP + QLoRA (Answer.AI's recipe) and FSDP / ZeRO-3 full sharding
of LoRA and full fine-tuning, with or without the parameters kept in system RAM.

FSDP + QLoRA (``fsdp_qlora``, the Hugging Face "FSDP+QLoRA" guide): every Linear but the head
in bitsandbytes nf4 stored as bf16 (``bnb_4bit_quant_storage=torch.bfloat16``) so FSDP can
flatten and shard the packed 4-bit weights with everything else; the rest of the model and the
LoRA adapters (all linear layers) in bf16, full sharding with the decoder layers wrapped apart,
gradient checkpointing, bf16 autocast. What a rank holds, checked on the capped-run record
(``tests/data/calibration/capped/``, ``fsdp-qlora-*``: rank 0 of a fake process group of 1 and
2, the same with parameters offloaded, a real two-process gloo run):

- its share of the flat parameters, 2 bytes an element: half a byte per 4-bit weight, 2 bytes
  per bf16 parameter (nothing with ``CPUOffload(offload_params=True)``);
- bitsandbytes' quantization statistics (absmax and the double-quantization constants, 0.127
  bits a weight), which are not parameters: FSDP leaves them whole on every rank;
- at the step's peak, the step's own transient (what one GPU adds while it trains: the
  checkpointed layer inputs, the logits in bf16 and the loss's fp32 buffers, fitted), and the
  root unit gathered in full when there is more than one rank or the parameters live in RAM
  (embeddings, final norm and an untied head: FSDP wraps the decoder layers apart, the rest
  stays in the root unit).

For LoRA and full fine-tuning the same rules give ZeRO-3 / FSDP full sharding: weights,
gradients and optimizer states divided by the ranks, the root unit and one layer gathered;
with the parameters offloaded, gradients and optimizer states live in RAM too (the optimizer
steps on the CPU).

The cost of offloading parameters: every step copies the rank's shard to the GPU for forward
and again for backward. Measured 7.9x slower on one H100 (10.37 against 1.31 s a step; PCIe 5,
fake process group so no communication counted), far slower than the link's bandwidth alone
would make it (host-side copies of many small flat parameters); the share of the link that
run reached is applied to the target's PCIe bandwidth, so a PCIe 4 or 3 rig is slower still.
"""

from __future__ import annotations

from rigready.assess.estimate.breakdown import MemoryBreakdown, context_bytes
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import qlora
from rigready.assess.estimate.model import ModelShape

#: nf4 with double quantization: bits a weight beyond the 4 of the weight itself.
QUANT_STATS_BITS = qlora.NF4_BITS - 4.0
#: The step's fp32 loss buffers in logits-sized (4 x vocab x tokens) blocks at its peak, fitted
#: on the world-1 FSDP+QLoRA run of Llama-3.1-8B (2.52) and the gloo run of Llama-3.2-1B
#: (2.69); the three other runs are predicted from it within 1.6%.
LOSS_BUFFERS = 2.6
#: Allocator reserve of a sharded step: a share of its transient and the gathered root unit
#: (fitted on the same runs: 1.00, 1.62 and 0.93 GiB reserved beyond allocated), and with the
#: parameters offloaded, half the root unit more (every unit is copied in and freed: 2.50).
RESERVE_SHARE = 0.3
OFFLOAD_RESERVE_SHARE = 0.5
#: Fragmentation on a card just big enough, in fp32 logits blocks (as a checkpointed
#: single-GPU step, :mod:`~rigready.assess.estimate.language.allocator`).
FRAGMENTATION_BLOCKS = 1.5
#: Usable host-to-device bandwidth of the H100 machine the offload run was measured on
#: (PCIe 5 x16), GB/s, and the rate its step overhead implies: 9.06 s more a step (10.368
#: against 1.307 s) for copying rank 0's shard of Llama-3.1-8B (2,837,712,896 flat bf16
#: elements over two ranks) in for forward and again for backward.
OFFLOAD_MEASURED_PCIE_GB_S = 50.0
#: What a rank's process holds beside its allocator beyond a single-GPU training step's context:
#: 828 MiB measured on the FSDP ranks against 767 (process groups and FSDP's streams). NCCL's own
#: buffers on real multi-GPU rigs were not measured (the runs used fake and gloo groups).
FSDP_CONTEXT_EXTRA_BYTES = (828 - 767) * 2**20
OFFLOAD_MEASURED_GB_S = 2 * (2 * 2_837_712_896 / 2) / 1e9 / (10.368 - 1.307)


def root_unit_params(shape: ModelShape) -> int:
    """Parameters FSDP keeps in the root unit: embeddings, final norm and an untied head."""
    return shape.embedding_params + shape.head_params


def _quantized(shape: ModelShape) -> int:
    return min(qlora.quantized_params(shape), shape.params)


def flat_elements(shape: ModelShape, wl: Workload, trainable: int) -> int:
    """Elements of every flat parameter FSDP makes (2 bytes each in the recipes here): packed
    4-bit weights (4 to a bf16 element) in QLoRA, plus the bf16 parameters and the adapters."""
    if wl.method == "qlora":
        q = _quantized(shape)
        return q // 4 + (shape.params - q) + trainable
    return shape.params + (trainable if wl.method == "lora" else 0)


def quant_stats_bytes(shape: ModelShape, wl: Workload) -> int:
    """bitsandbytes' statistics, whole on every rank (QLoRA only)."""
    return int(_quantized(shape) * QUANT_STATS_BITS / 8) if wl.method == "qlora" else 0


def fsdp_qlora_memory(shape: ModelShape, wl: Workload, trainable: int,
                      saved_per_token: float) -> MemoryBreakdown:
    """A rank's peak under FSDP + QLoRA (``trainable``: the adapters' parameters;
    ``saved_per_token``: what the step keeps per token for backward, the checkpointed layer
    inputs under checkpointing)."""
    g = wl.gpus
    t = wl.batch * wl.seq_len
    held = 0 if wl.param_offload else 2 * flat_elements(shape, wl, trainable) // g
    stats = quant_stats_bytes(shape, wl)
    gathered = 2 * root_unit_params(shape) if (g > 1 or wl.param_offload) else 0
    # adapters: bf16 gradients and bf16 AdamW states (one dtype per flat parameter)
    grads = 2 * trainable // g
    optimizer = 0 if wl.param_offload else 4 * trainable // g
    logits_block = 4 * shape.vocab_size * t
    activations = int(t * saved_per_token + gathered)
    logits = int(2 * shape.vocab_size * t + LOSS_BUFFERS * logits_block)
    reserve = RESERVE_SHARE * (activations + logits) + (
        OFFLOAD_RESERVE_SHARE * gathered if wl.param_offload else 0)
    return MemoryBreakdown(
        context=context_bytes(wl) + FSDP_CONTEXT_EXTRA_BYTES, weights=held + stats,
        gradients=grads, optimizer=optimizer,
        activations=activations, logits=logits, kv_cache=0,
        reserve=int(reserve), peak_phase="start of backward",
        gradients_total=grads, trainable_params=trainable,
        fragmentation=int(FRAGMENTATION_BLOCKS * logits_block))


def gathered_bytes(shape: ModelShape, compute_bytes: int) -> int:
    """What a fully sharded rank gathers at once: the root unit and one layer (prefetched)."""
    return compute_bytes * (root_unit_params(shape) + shape.layer_params)


def offload_seconds(shape: ModelShape, wl: Workload, trainable: int,
                    pcie_gb_s: float | None) -> float:
    """Extra seconds a step takes with the parameters in system RAM: the rank's shard copied
    to the GPU for forward and for backward, at the share of the link the measured run
    reached (see the module docstring)."""
    shard = 2 * flat_elements(shape, wl, trainable) / wl.gpus
    rate = OFFLOAD_MEASURED_GB_S * (pcie_gb_s or 12.0) / OFFLOAD_MEASURED_PCIE_GB_S
    return 2 * shard / (rate * 1e9)


def recipe(wl: Workload) -> str:
    """The sharding recipe the figure assumes, in words."""
    off = (" with the parameters offloaded to system RAM (CPUOffload(offload_params=True)), "
           "gradients and optimizer states too" if wl.param_offload else "")
    if wl.method == "qlora":
        return ("FSDP + QLoRA as Answer.AI's fsdp_qlora runs it: nf4 weights stored as bf16 "
                "(bnb_4bit_quant_storage), bf16 LoRA adapters, full sharding over "
                f"{wl.gpus} GPU(s), gradient checkpointing, bf16 autocast, AdamW" + off)
    return (f"FSDP full sharding (ZeRO-3) over {wl.gpus} GPUs: weights, gradients and optimizer "
            "states divided among them, the root unit (embeddings, head) and one layer gathered "
            "at a time" + off)
