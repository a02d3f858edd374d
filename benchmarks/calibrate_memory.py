"""Measure real peak GPU memory of training and inference steps, to calibrate the estimator.

Each case builds a model from a ``config.json`` in ``tests/data/hf_configs/`` with random weights
(no download), runs a few real steps and records ``torch.cuda.max_memory_allocated``,
``max_memory_reserved`` and the device-level NVML "used" memory at its peak (polled by the parent
process while the case runs; nothing subtracted). Every case runs in a forked child, so peaks,
caching-allocator state and the CUDA context never leak from one case into the next; torch and
transformers are imported once in the parent (which never touches CUDA) so forks start at once.

Usage (on a machine with an NVIDIA GPU, torch, transformers and peft)::

    python benchmarks/calibrate_memory.py --grid main --out calib.json --budget-s 380
    python benchmarks/calibrate_memory.py --grid tiny --device cpu --out /tmp/x.json   # dry run
    python benchmarks/calibrate_memory.py --grid main --list                           # cases only

The estimator's test (``tests/test_estimate_calibration.py``) reads the committed JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "tests" / "data" / "hf_configs"
SCHEMA = "rigready.calibration"


@dataclass(frozen=True, slots=True)
class Case:
    """One measured workload."""

    name: str
    config: str
    method: str  # inference | full | lora
    precision: str  # fp32 | amp-bf16 | bf16
    batch: int
    seq: int
    task: str = "causal-lm"  # causal-lm | seq-cls
    new_tokens: int = 0
    checkpointing: bool = False
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    attn: str = "sdpa"
    optimizer: str = "adamw"
    steps: int = 3


def _c(config: str, method: str, precision: str, batch: int, seq: int, **kw: Any) -> Case:
    ckpt = "-ckpt" if kw.get("checkpointing") else ""
    extra = f"-{kw['attn']}" if kw.get("attn", "sdpa") != "sdpa" else ""
    if method == "inference":
        extra += f"-gen{kw.get('new_tokens', 0)}"
    if method == "lora" and kw.get("lora_targets") == ("all-linear",):
        extra += "-alllin"
    name = f"{config}-{method}-{precision}-b{batch}-s{seq}{ckpt}{extra}"
    return Case(name=name, config=config, method=method, precision=precision, batch=batch,
                seq=seq, **kw)


def grid(name: str) -> list[Case]:
    """The named list of cases: ``tiny`` (CPU smoke test), ``main`` and ``extra`` (GPU)."""
    if name == "tiny":
        return [
            _c("tiny-llama", "full", "amp-bf16", 2, 64, steps=2),
            _c("tiny-llama", "full", "bf16", 2, 64, checkpointing=True, steps=2),
            _c("tiny-llama", "lora", "bf16", 2, 64, steps=2),
            _c("tiny-llama", "inference", "bf16", 2, 32, new_tokens=8),
            _c("tiny-gpt2", "full", "amp-bf16", 2, 64, steps=2),
            _c("tiny-gpt2", "lora", "amp-bf16", 2, 64, lora_targets=("c_attn",), steps=2),
            _c("tiny-bert", "full", "amp-bf16", 2, 64, task="seq-cls", steps=2),
            _c("tiny-mixtral", "full", "bf16", 2, 64, steps=2),
            _c("tiny-mixtral", "lora", "bf16", 2, 64, lora_targets=("all-linear",), steps=2),
        ]
    if name == "main":
        g = [
            _c("gpt2", "full", "amp-bf16", 8, 512),
            _c("gpt2", "full", "amp-bf16", 16, 1024),
            _c("gpt2", "full", "fp32", 8, 512),
            _c("gpt2", "full", "bf16", 16, 1024, checkpointing=True),
            _c("gpt2", "full", "amp-bf16", 8, 1024, attn="eager"),
            _c("gpt2", "lora", "amp-bf16", 8, 1024, lora_targets=("c_attn",)),
            _c("gpt2", "inference", "bf16", 8, 512, new_tokens=128),
            _c("gpt2-medium", "full", "amp-bf16", 8, 1024),
            _c("gpt2-medium", "full", "amp-bf16", 8, 1024, checkpointing=True),
            _c("gpt2-medium", "lora", "bf16", 16, 1024, lora_targets=("c_attn",)),
            _c("bert-base-uncased", "full", "amp-bf16", 32, 512, task="seq-cls"),
            _c("bert-base-uncased", "full", "fp32", 16, 256, task="seq-cls"),
            _c("bert-base-uncased", "lora", "amp-bf16", 32, 512, task="seq-cls",
               lora_targets=("query", "value")),
            _c("qwen2.5-0.5b", "full", "amp-bf16", 4, 1024),
            _c("qwen2.5-0.5b", "full", "bf16", 8, 1024, checkpointing=True),
            _c("qwen2.5-0.5b", "lora", "amp-bf16", 8, 1024),
            _c("qwen2.5-0.5b", "inference", "bf16", 16, 512, new_tokens=128),
            _c("qwen2.5-1.5b", "full", "bf16", 4, 1024),
            _c("qwen2.5-1.5b", "full", "amp-bf16", 2, 2048, checkpointing=True),
            _c("qwen2.5-1.5b", "lora", "bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-3.2-1b", "full", "amp-bf16", 4, 1024),
            _c("llama-3.2-1b", "full", "bf16", 8, 2048, checkpointing=True),
            _c("llama-3.2-1b", "lora", "amp-bf16", 8, 1024),
            _c("llama-3.2-1b", "lora", "bf16", 4, 2048, lora_targets=("all-linear",)),
            _c("llama-3.2-1b", "inference", "bf16", 8, 1024, new_tokens=256),
            _c("llama-3.2-3b", "full", "bf16", 2, 1024),
            _c("llama-3.2-3b", "full", "amp-bf16", 1, 1024, checkpointing=True),
            _c("llama-3.2-3b", "lora", "amp-bf16", 4, 1024),
            _c("llama-3.2-3b", "lora", "bf16", 8, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-3.2-3b", "inference", "bf16", 4, 2048, new_tokens=128),
            _c("mistral-7b-v0.1", "lora", "bf16", 2, 1024),
            _c("mistral-7b-v0.1", "lora", "amp-bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("mistral-7b-v0.1", "inference", "bf16", 4, 1024, new_tokens=128),
            _c("mixtral-shaped-1b", "full", "bf16", 4, 1024),
            _c("mixtral-shaped-1b", "full", "amp-bf16", 4, 1024, checkpointing=True),
            _c("mixtral-shaped-1b", "lora", "bf16", 8, 1024),
            _c("mixtral-shaped-1b", "inference", "bf16", 8, 512, new_tokens=128),
        ]
        return g
    if name == "extra":
        return [
            _c("gpt2", "full", "amp-bf16", 32, 1024),
            _c("gpt2-medium", "inference", "bf16", 16, 1024, new_tokens=256),
            _c("bert-base-uncased", "full", "bf16", 64, 128, task="seq-cls"),
            _c("qwen2.5-0.5b", "full", "fp32", 2, 1024),
            _c("qwen2.5-1.5b", "inference", "bf16", 1, 4096, new_tokens=256),
            _c("llama-3.2-1b", "full", "amp-bf16", 2, 4096, checkpointing=True),
            _c("llama-3.2-1b", "lora", "bf16", 16, 1024, checkpointing=True),
            _c("llama-3.2-3b", "lora", "bf16", 1, 4096),
            _c("mistral-7b-v0.1", "lora", "bf16", 1, 4096, checkpointing=True),
            _c("mistral-7b-v0.1", "full", "bf16", 1, 512, checkpointing=True),
            _c("mixtral-shaped-1b", "lora", "amp-bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
        ]
    if name == "holdout":  # not used to shape the formulas: a check on unseen cases
        return [
            _c("phi-3-mini-4k", "lora", "bf16", 2, 1024, lora_targets=("qkv_proj", "o_proj")),
            _c("phi-3-mini-4k", "inference", "bf16", 4, 1024, new_tokens=128),
            _c("gemma-2b", "lora", "amp-bf16", 4, 1024),
            _c("gemma-2b", "full", "bf16", 2, 1024, checkpointing=True),
            _c("llama-2-7b", "lora", "bf16", 2, 1024, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-2-7b", "inference", "bf16", 8, 512, new_tokens=128),
            _c("gpt2-medium", "inference", "bf16", 16, 512, new_tokens=256),
            _c("qwen2.5-1.5b", "lora", "amp-bf16", 4, 1024, attn="eager"),
            _c("bert-base-uncased", "lora", "bf16", 32, 512, task="seq-cls",
               lora_targets=("query", "value")),
            _c("llama-3.2-1b", "lora", "fp32", 4, 1024),
            _c("llama-3.2-1b", "full", "amp-bf16", 8, 512),
            _c("qwen2.5-0.5b", "full", "bf16", 16, 512),
            _c("mixtral-shaped-1b", "full", "bf16", 8, 1024, checkpointing=True),
            _c("gpt2-medium", "full", "fp32", 4, 1024),
            _c("llama-3.2-3b", "lora", "amp-bf16", 2, 2048, checkpointing=True),
            _c("mistral-7b-v0.1", "lora", "amp-bf16", 8, 512),
        ]
    raise SystemExit(f"unknown grid {name!r}")


TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny-llama": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 160,
                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                   "vocab_size": 500, "tie_word_embeddings": False},
    "tiny-gpt2": {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4,
                  "n_positions": 256, "vocab_size": 500},
    "tiny-bert": {"model_type": "bert", "hidden_size": 64, "intermediate_size": 256,
                  "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 500},
    "tiny-mixtral": {"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 96,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "num_local_experts": 4, "num_experts_per_tok": 2, "vocab_size": 500},
}


def load_config_dict(name: str) -> dict[str, Any]:
    """The config dict of a case: a tiny built-in one or a file in tests/data/hf_configs."""
    if name in TINY_CONFIGS:
        return dict(TINY_CONFIGS[name])
    data: dict[str, Any] = json.loads((CONFIG_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------- child process


def _build(case: Case, device: str) -> tuple[Any, Any]:
    import torch
    import transformers

    cfg_dict = load_config_dict(case.config)
    model_type = cfg_dict.pop("model_type")
    config = transformers.AutoConfig.for_model(model_type, **cfg_dict)
    if case.task == "seq-cls":
        config.num_labels = 2
    config.use_cache = case.method == "inference"
    half = case.precision == "bf16" or (case.precision == "amp-bf16" and case.method != "full")
    dtype = torch.bfloat16 if half else torch.float32
    auto = (transformers.AutoModelForSequenceClassification if case.task == "seq-cls"
            else transformers.AutoModelForCausalLM)
    with torch.device(device):
        try:
            model = auto.from_config(config, dtype=dtype, attn_implementation=case.attn)
        except TypeError:  # transformers before 4.56 names it torch_dtype
            model = auto.from_config(config, torch_dtype=dtype, attn_implementation=case.attn)
    model.to(device)
    if case.method == "lora":
        import peft

        targets: Any = ("all-linear" if case.lora_targets == ("all-linear",)
                        else list(case.lora_targets))
        lcfg = peft.LoraConfig(r=case.lora_rank, lora_alpha=2 * case.lora_rank,
                               lora_dropout=0.0, target_modules=targets,
                               task_type="SEQ_CLS" if case.task == "seq-cls" else "CAUSAL_LM")
        # peft keeps adapters in fp32 for a half-precision base unless told otherwise: that is
        # what AMP LoRA means here; pure bf16 LoRA keeps them in bf16.
        model = peft.get_peft_model(model, lcfg,
                                    autocast_adapter_dtype=case.precision != "bf16")
    if case.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if case.method == "lora":
            model.enable_input_require_grads()
    return model, config


def _run_case(case: Case, device: str) -> dict[str, Any]:
    import torch

    cuda = device == "cuda"
    rec: dict[str, Any] = {}

    def mark(key: str) -> None:
        if cuda:
            torch.cuda.synchronize()
            rec[key] = int(torch.cuda.memory_allocated())

    if cuda:
        torch.zeros(1, device="cuda")
    t0 = time.perf_counter()
    model, config = _build(case, device)
    mark("weights_allocated_bytes")
    rec["param_count"] = int(sum(p.numel() for p in model.parameters()))
    rec["trainable_params"] = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    vocab = int(getattr(config, "vocab_size", 1000))
    gen = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(0, vocab, (case.batch, case.seq), generator=gen).to(device)
    amp = case.precision.startswith("amp")
    if case.method == "inference":
        model.eval()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=case.new_tokens, min_new_tokens=case.new_tokens,
                                 do_sample=False, pad_token_id=0)
        rec["generated_tokens"] = int(out.shape[1] - case.seq)
    else:
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-5, fused=cuda)
        labels: Any = (torch.randint(0, 2, (case.batch,), generator=gen).to(device)
                       if case.task == "seq-cls" else ids)
        for step in range(case.steps):
            if step == 1:
                mark("persistent_before_step2_bytes")
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=amp):
                loss = model(input_ids=ids, labels=labels).loss
            if step == 1:
                mark("after_forward_step2_bytes")
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            del loss
        rec["final_loss_finite"] = True
    if cuda:
        torch.cuda.synchronize()
        rec["max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        rec["max_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
        rec["reserved_at_end_bytes"] = int(torch.cuda.memory_reserved())
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    return rec


def _context_probe(device: str) -> dict[str, Any]:
    """The CUDA context by itself: init, then one bf16 matmul (loads cuBLAS)."""
    import torch

    rec: dict[str, Any] = {}
    nv = _Nvml()
    rec["nvml_before_init_bytes"] = nv.used()
    torch.zeros(1, device=device)
    torch.cuda.synchronize()
    rec["nvml_after_init_bytes"] = nv.used()
    a = torch.randn(1024, 1024, device=device, dtype=torch.bfloat16)
    (a @ a).sum().item()
    torch.cuda.synchronize()
    rec["nvml_after_matmul_bytes"] = nv.used()
    rec["reserved_after_matmul_bytes"] = int(torch.cuda.memory_reserved())
    return rec


def _child(case: Case | None, device: str, conn: Any) -> None:
    try:
        result = _context_probe(device) if case is None else _run_case(case, device)
        result["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded result
        text = f"{type(exc).__name__}: {exc}"
        status = "oom" if "out of memory" in text.lower() else "error"
        result = {"status": status, "error": text[:400],
                  "traceback": traceback.format_exc()[-1500:]}
    conn.send(result)
    conn.close()


# ---------------------------------------------------------------------------- parent process


class _Nvml:
    """Device-level used memory of GPU 0 through NVML (None when NVML is absent)."""

    def __init__(self) -> None:
        self.handle: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._mod: Any = pynvml
        except Exception:  # noqa: BLE001 - no NVIDIA driver: memory stays unknown
            self.handle = None

    def used(self) -> int | None:
        if self.handle is None:
            return None
        return int(self._mod.nvmlDeviceGetMemoryInfo(self.handle).used)

    def facts(self) -> dict[str, Any]:
        if self.handle is None:
            return {}
        m = self._mod
        name = m.nvmlDeviceGetName(self.handle)
        driver = m.nvmlSystemGetDriverVersion()
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "driver": driver.decode() if isinstance(driver, bytes) else driver,
            "total_bytes": int(m.nvmlDeviceGetMemoryInfo(self.handle).total),
            "cuda_driver_version": int(m.nvmlSystemGetCudaDriverVersion_v2()),
        }


@dataclass
class _Poller:
    nvml: _Nvml
    peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            used = self.nvml.used()
            if used is None:
                return
            self.peak = max(self.peak, used)
            self.samples += 1
            time.sleep(0.001)


def run_one(case: Case | None, device: str, nvml: _Nvml, timeout_s: float) -> dict[str, Any]:
    """Run one case (None = the context probe) in a forked child while polling NVML."""
    ctx = mp.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    before = nvml.used()
    poller = _Poller(nvml)
    thread = threading.Thread(target=poller.run, daemon=True)
    proc = ctx.Process(target=_child, args=(case, device, child_conn))
    proc.start()  # fork before the polling thread exists
    thread.start()
    child_conn.close()
    result: dict[str, Any] = {"status": "timeout"}
    if parent_conn.poll(timeout_s):
        try:
            result = parent_conn.recv()
        except EOFError:
            result = {"status": "crashed"}
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()
    poller._stop.set()
    thread.join()
    result["nvml_used_before_bytes"] = before
    result["nvml_used_peak_bytes"] = poller.peak if poller.samples else None
    result["nvml_samples"] = poller.samples
    if proc.exitcode not in (0, None) and result.get("status") == "ok":
        result["status"] = f"exit {proc.exitcode}"
    return result


def software_versions() -> dict[str, Any]:
    """Versions of what produced the numbers."""
    import torch
    import transformers

    out: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "torch_cuda": torch.version.cuda,
                           "transformers": transformers.__version__}
    try:
        import peft

        out["peft"] = peft.__version__
    except ImportError:
        out["peft"] = None
    out["alloc_conf"] = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="main",
                        help="tiny | main | extra | holdout, or several joined by commas")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--out", type=Path, help="JSON file to write (rewritten after each case)")
    parser.add_argument("--budget-s", type=float, default=380.0,
                        help="start no new case after this many seconds")
    parser.add_argument("--case-timeout-s", type=float, default=120.0)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for g in args.grid.split(",") for c in grid(g)
             if not args.only or args.only in c.name]
    if args.list:
        for c in cases:
            print(c.name)
        print(f"{len(cases)} cases")
        return 0
    if args.out is None:
        parser.error("--out is required unless --list")
    import torch  # noqa: F401 - imported once here so that forked children start at once
    import transformers  # noqa: F401

    start = time.monotonic()
    nvml = _Nvml()
    doc: dict[str, Any] = {
        "schema": SCHEMA, "version": 1,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": args.device, "gpu": nvml.facts(), "software": software_versions(),
        "method": "forked child per case; NVML used polled every ~1 ms by the parent; "
                  "training: AdamW (fused on CUDA), zero_grad(set_to_none=True), loss from the "
                  "model with labels, outputs dropped before backward; inference: generate() "
                  "greedy with min_new_tokens = max_new_tokens; checkpointing non-reentrant",
        "configs": {}, "context": None, "cases": [],
    }
    if args.device == "cuda":
        doc["context"] = run_one(None, args.device, nvml, args.case_timeout_s)
        print("context", json.dumps(doc["context"]), flush=True)
    for case in cases:
        if time.monotonic() - start > args.budget_s:
            print(f"budget spent: skipping {case.name}", flush=True)
            continue
        doc["configs"].setdefault(case.config, load_config_dict(case.config))
        result = run_one(case, args.device, nvml, args.case_timeout_s)
        entry = asdict(case)
        entry["lora_targets"] = list(case.lora_targets)
        entry["result"] = result
        doc["cases"].append(entry)
        peak = result.get("nvml_used_peak_bytes")
        print(f"{case.name}: {result['status']} nvml={(peak or 0) / 2**30:.2f} GiB "
              f"reserved={(result.get('max_reserved_bytes') or 0) / 2**30:.2f} GiB "
              f"alloc={(result.get('max_allocated_bytes') or 0) / 2**30:.2f} GiB "
              f"t={time.monotonic() - start:.0f}s {result.get('error', '')}", flush=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    doc["elapsed_s"] = round(time.monotonic() - start, 1)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
