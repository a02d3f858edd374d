"""The child side of ``benchmarks/calibrate_capped.py``: one case, one process, one JSON result.

``python benchmarks/calibrate_capped_child.py`` reads ``{"case": ..., "cap_bytes": ...}`` on
stdin and writes ``@@RESULT@@ {...}`` on stdout (everything the libraries print goes to stderr).
Kinds: ``lm`` (the runner of ``rigready estimate --measure``: :mod:`rigready.assess.measure.child`,
which sets the cap itself), ``vision`` and ``diffusion`` (``calibrate_vision_speed.py``'s
children), ``dit`` (``calibrate_dit.py``: SD3.5 / FLUX.1), ``speed-vision`` (a classifier's
fp32 step with the TF32 switches as given), ``speed-lm`` (a full fine-tuning step split into
forward, backward and optimizer, plus the output head and loss alone), ``context`` (the CUDA
context and the kernels a job loads, beside the allocator) and ``fsdp``
(``calibrate_fsdp_qlora.py``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))

from rigready.assess.measure import child as measure_child
from rigready.assess.measure import tasks
from rigready.assess.measure.spec import MeasureSpec

MARK = "@@RESULT@@ "
#: ``cuda``; ``cpu`` for the dry run (``--cpu``: language models and SD3.5/FLUX only).
DEVICE = "cpu" if "--cpu" in sys.argv else "cuda"


def _cap(cap: int | None, rec: dict[str, Any]) -> None:
    import torch

    torch.zeros(1, device="cuda")
    tasks.apply_cap(MeasureSpec(name="", config={}, method="inference", precision="bf16",
                                batch=1, seq=1, cap_bytes=cap), rec)


def _tf32_defaults() -> dict[str, Any]:
    """PyTorch's TF32 switches as this process found them (before any change)."""
    import torch

    reads = {"cudnn.allow_tf32": lambda: bool(torch.backends.cudnn.allow_tf32),
             "cuda.matmul.allow_tf32": lambda: bool(torch.backends.cuda.matmul.allow_tf32),
             "float32_matmul_precision": torch.get_float32_matmul_precision,
             "cudnn.conv.fp32_precision": lambda: str(torch.backends.cudnn.conv.fp32_precision),
             "cuda.matmul.fp32_precision": lambda: str(
                 torch.backends.cuda.matmul.fp32_precision)}
    out: dict[str, Any] = {}
    for name, read in reads.items():
        try:
            out[name] = read()
        except Exception as exc:  # noqa: BLE001 - an API this torch lacks
            out[name] = f"unreadable: {type(exc).__name__}"
    return out


def _speed_vision(case: dict[str, Any]) -> dict[str, Any]:
    import calibrate_vision_speed as cvs
    import torch

    rec: dict[str, Any] = {"tf32_defaults": _tf32_defaults()}
    torch.backends.cudnn.allow_tf32 = bool(case["cudnn_tf32"])
    torch.backends.cuda.matmul.allow_tf32 = bool(case["matmul_tf32"])
    torch.backends.cudnn.benchmark = bool(case.get("cudnn_benchmark", False))
    rec.update(cvs._vision(case))
    return rec


def _timed(fn: Any, n: int) -> list[float]:
    import torch

    out = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return out


def _speed_lm(case: dict[str, Any]) -> dict[str, Any]:
    """A full fine-tuning step timed whole and in parts, and the vocabulary head alone."""
    import torch

    spec = MeasureSpec.from_dict(case["spec"])
    model, config, _ = measure_child.build(spec, "cuda")
    model.train()
    text = tasks.text_config(config)
    hidden, vocab = int(text.hidden_size), tasks.vocab_size(config)
    rec: dict[str, Any] = {
        "param_count": int(sum(p.numel() for p in model.parameters())),
        "embedding_params": int(model.get_input_embeddings().weight.numel()),
        "tied_embeddings": bool(getattr(text, "tie_word_embeddings", False)),
        "hidden_size": hidden, "vocab_size": vocab, "layers": int(text.num_hidden_layers),
        "tokens_per_step": spec.batch * spec.seq}
    inputs = tasks.batch(spec, model, config, "cuda", training=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5,
                            fused=True)
    amp = spec.precision.startswith("amp")
    parts: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": [], "step": []}
    for i in range(case.get("steps", 6)):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = model(**inputs).loss
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        loss.backward()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        t3 = time.perf_counter()
        del loss
        if i >= 2:  # two warm-up steps
            for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                parts[k].append(v)
    rec.update({f"{k}_seconds": round(statistics.median(v), 5) for k, v in parts.items()})
    # the output head and the loss alone, as the model runs them: hidden -> logits (in the
    # head's dtype, or bf16 under autocast) -> fp32 cross-entropy, forward and backward
    head = model.get_output_embeddings()
    h = torch.randn(spec.batch, spec.seq, hidden, device="cuda",
                    dtype=head.weight.dtype, requires_grad=True)
    labels = inputs["input_ids"]

    def head_step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            logits = head(h)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, vocab), labels.view(-1))
        loss.backward()
        head.weight.grad = None
        h.grad = None

    _timed(head_step, 2)
    rec["head_loss_seconds"] = round(statistics.median(_timed(head_step, 5)), 5)
    rec["head_flops_per_step"] = 6 * spec.batch * spec.seq * hidden * vocab
    return rec


def _context(case: dict[str, Any]) -> dict[str, Any]:
    """Process memory beside the allocator after init, a bf16 matmul (cuBLAS), a conv (cuDNN)
    and fused attention (SDPA), with lazy module loading as configured."""
    import torch

    rec: dict[str, Any] = {"CUDA_MODULE_LOADING": os.environ.get("CUDA_MODULE_LOADING"),
                           "torch_cuda": torch.version.cuda}
    stages = []

    def note(stage: str) -> None:
        torch.cuda.synchronize()
        used = tasks.process_used_bytes()
        res = int(torch.cuda.memory_reserved())
        stages.append({"stage": stage, "process_used_bytes": used, "reserved_bytes": res,
                       "beside_allocator_bytes": None if used is None else used - res})

    torch.zeros(1, device="cuda")
    note("init + 1 element")
    a = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
    (a @ a).sum().item()
    note("bf16 matmul")
    x = torch.randn(8, 64, 56, 56, device="cuda")
    torch.nn.functional.conv2d(x, torch.randn(64, 64, 3, 3, device="cuda"), padding=1).sum()
    note("fp32 conv (cuDNN)")
    q = torch.randn(2, 8, 1024, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    note("SDPA forward + backward")
    rec["stages"] = stages
    return rec


def run_case(case: dict[str, Any], cap: int | None) -> dict[str, Any]:
    """One case in this process; every failure is a result (``oom`` or ``error``)."""
    kind = case["kind"]
    if kind == "lm":
        spec = MeasureSpec.from_dict({**case["spec"], "cap_bytes": cap})
        out: list[dict[str, Any]] = []
        measure_child.guarded(spec, DEVICE, out.append)
        result = {k: v for k, v in out[-1].items() if k != "event"}
        return result
    rec: dict[str, Any] = {}
    cuda = DEVICE == "cuda"
    try:
        if cuda:
            _cap(cap, rec)
        if kind == "vision" or kind == "diffusion":
            import calibrate_vision_speed as cvs

            rec.update((cvs._vision if kind == "vision" else cvs._diffusion)(case))
        elif kind == "dit":
            import calibrate_dit

            rec.update(calibrate_dit.run(case, DEVICE))
        elif kind == "speed-vision":
            rec.update(_speed_vision(case))
        elif kind == "speed-lm":
            rec.update(_speed_lm(case))
        elif kind == "context":
            rec.update(_context(case))
        elif kind == "fsdp":
            import calibrate_fsdp_qlora

            rec.update(calibrate_fsdp_qlora.run(case, DEVICE))
        else:
            raise ValueError(f"unknown kind {kind!r}")
        if cuda:
            tasks.record_cuda_peaks(rec)
        rec["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded result
        text = f"{type(exc).__name__}: {exc}"
        oom = "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError"
        rec.update(status="oom" if oom else "error", error=text[:600],
                   traceback=traceback.format_exc()[-1500:])
        if oom:
            rec.update(tasks.oom_figures(text))
            rec.update(tasks.peaks_after_failure())
    return rec


def main() -> int:
    """Read the request, run it, print the result line."""
    request = json.loads(sys.stdin.readline())
    out = sys.stdout
    sys.stdout = sys.stderr
    t0 = time.perf_counter()
    result = run_case(request["case"], request.get("cap_bytes"))
    result["child_seconds"] = round(time.perf_counter() - t0, 2)
    result["pid"] = os.getpid()
    out.write(MARK + json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
