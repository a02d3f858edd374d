"""FSDP + QLoRA (Answer.AI's recipe) per-rank memory, for issue 22 item 3.

The recipe (Answer.AI fsdp_qlora; the Hugging Face "FSDP+QLoRA" guide): every Linear but the head
in bitsandbytes nf4 with ``bnb_4bit_quant_storage=torch.bfloat16`` (so the packed 4-bit weights
are bf16 tensors FSDP can flatten and shard with the rest), everything else bf16, LoRA adapters
(r 16, all linear layers), FSDP full sharding with the decoder layers and the LoRA modules wrapped
apart (peft's ``fsdp_auto_wrap_policy``), ``use_orig_params=False``, non-reentrant gradient
checkpointing, AdamW on the adapters; optionally ``CPUOffload(offload_params=True)``.

Two ways to run ``world`` ranks:

- ``mode="fake"``: one real process, rank 0 of a ``world``-rank torch "fake" process group
  (``torch.testing._internal.distributed.fake_pg``). Collectives move no data, but their outputs
  are allocated as real ones are, so rank 0's memory (its shards, the all-gathered layer, the
  reduce-scattered gradients) is what a real rank 0 holds; values are garbage (the loss is not
  meaningful).
- ``mode="gloo"``: ``world`` real processes on the one GPU over the gloo backend (NCCL refuses
  two ranks on one device).

The record lists every flat parameter FSDP made (unsharded and rank-0 sharded element counts),
so the sharding arithmetic can be checked against the measured peak.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def build(case: dict[str, Any], device: str) -> Any:
    """The 4-bit (bf16 storage) model with LoRA adapters, on ``device``."""
    import peft
    import torch
    import transformers

    from rigready.assess.measure import child as measure_child

    cfg = dict(case["config"])
    config = transformers.AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    config.use_cache = False
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    for _, parent in list(model.named_modules()):
        for cname, child in list(parent.named_children()):
            if type(child) is torch.nn.Linear and cname != "lm_head":
                parent._modules[cname] = measure_child.linear4bit(child, device,
                                                                   torch.bfloat16)
    measure_child._materialize(model, device)
    model.is_loaded_in_4bit = True
    model.quantization_method = "bitsandbytes"
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    lcfg = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                           task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, lcfg)
    for p in model.parameters():  # adapters in bf16 too: one dtype per flat parameter
        if p.requires_grad:
            p.data = p.data.to(torch.bfloat16)
    return model


def _rank(case: dict[str, Any], rank: int, world: int, device: str) -> dict[str, Any]:
    import torch
    import torch.distributed as dist
    from peft.utils.other import fsdp_auto_wrap_policy
    from torch.distributed.fsdp import CPUOffload, FullyShardedDataParallel, ShardingStrategy

    cuda = device == "cuda"
    if case["mode"] == "fake":
        from torch.testing._internal.distributed.fake_pg import FakeStore

        dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=world)
    else:
        dist.init_process_group("gloo", rank=rank, world_size=world)
    rec: dict[str, Any] = {"rank": rank, "world": world, "mode": case["mode"]}
    model = build(case, device)
    if cuda:
        torch.cuda.synchronize()
        rec["model_before_fsdp_bytes"] = int(torch.cuda.memory_allocated())
    offload = bool(case.get("offload_params"))
    model = FullyShardedDataParallel(
        model, auto_wrap_policy=fsdp_auto_wrap_policy(model),
        sharding_strategy=ShardingStrategy.FULL_SHARD, use_orig_params=False,
        cpu_offload=CPUOffload(offload_params=offload),
        device_id=torch.device(device) if cuda else None, limit_all_gathers=True,
        sync_module_states=False)
    flats = []
    for m in model.modules():
        fp = getattr(m, "_flat_param", None) if isinstance(m, FullyShardedDataParallel) else None
        if fp is not None:
            flats.append({"unsharded_numel": int(fp._unpadded_unsharded_size.numel()),
                          "sharded_numel": int(fp.numel()), "dtype": str(fp.dtype),
                          "requires_grad": bool(fp.requires_grad)})
    rec["flat_params"] = flats
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        rec["after_shard_allocated_bytes"] = int(torch.cuda.memory_allocated())
        torch.cuda.reset_peak_memory_stats()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    vocab = int(case["config"]["vocab_size"])
    ids = torch.randint(0, vocab, (case["batch"], case["seq"]), device=device)
    times = []
    for _ in range(case.get("steps", 3)):
        t0 = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        times.append(round(time.perf_counter() - t0, 4))
    rec["step_times_s"] = times
    if cuda:
        rec["max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        rec["max_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
    dist.destroy_process_group()
    return rec


def _gloo_worker(rank: int, world: int, case: dict[str, Any], out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(case.get("port", 29533)))
    try:
        rec = _rank(case, rank, world, "cuda")
        rec["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failure is the finding
        import traceback

        rec = {"rank": rank, "status": "error", "error": f"{type(exc).__name__}: {exc}"[:600],
               "traceback": traceback.format_exc()[-1500:]}
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(rec), encoding="utf-8")


def run(case: dict[str, Any], device: str = "cuda") -> dict[str, Any]:
    """Rank 0 under a fake group (``mode="fake"``), or ``world`` gloo processes."""
    if case["mode"] == "fake":
        return _rank(case, 0, int(case["world"]), device)
    import tempfile

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        mp.start_processes(_gloo_worker, args=(int(case["world"]), case, tmp),
                           nprocs=int(case["world"]), join=True, start_method="spawn")
        ranks = [json.loads(p.read_text()) for p in sorted(Path(tmp).glob("rank*.json"))]
    bad = [r for r in ranks if r.get("status") != "ok"]
    if bad:
        raise RuntimeError(f"gloo ranks failed: {bad[0].get('error')}")
    return {"ranks": ranks}
