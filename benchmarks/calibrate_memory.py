"""Measure real peak GPU memory and step time of training and inference, to calibrate the
estimator.

Each case builds a model from a ``config.json`` in ``tests/data/hf_configs/`` with random weights
(no download), runs a few real steps and records ``torch.cuda.max_memory_allocated``,
``max_memory_reserved``, the device-level NVML "used" memory at its peak (polled by the parent while
the case runs; nothing subtracted) and the median step time (CUDA-synchronised, the first step left
out as warm-up; ``step_seconds``). The runner is the one ``rigready estimate --measure`` uses
(:mod:`rigready.assess.measure`); every case runs in its own forked child, so peaks,
caching-allocator state and the CUDA context never leak from one case into the next; torch and
transformers are imported once in the parent (which never touches CUDA) so forks start at once.

Usage (on a machine with an NVIDIA GPU, torch, transformers, peft and bitsandbytes)::

    python benchmarks/calibrate_memory.py --grid all-lm --out calib.json    # every LM family
    python benchmarks/calibrate_memory.py --grid qlora,qlora-holdout --out q.json --budget-s 300
    python benchmarks/calibrate_memory.py --grid tiny --device cpu --out /tmp/x.json   # dry run
    python benchmarks/calibrate_memory.py --grid main --list                           # cases only

Each record says which grid it came from; cases of the ``*holdout`` grids go to the tests'
held-out files. The estimator's test (``tests/test_estimate_calibration.py``) reads the JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration_grids import HOLDOUT_GRIDS, Case, grid, load_config_dict

from rigready.assess.measure import launch

SCHEMA = "rigready.calibration"
METHOD = ("forked child per case; NVML used polled every ~1 ms by the parent, peak counted "
          "from the end of the build; training: AdamW (fused on CUDA), "
          "zero_grad(set_to_none=True), loss from the model with labels, outputs dropped before "
          "backward, median of the steps after the first (CUDA-synchronised); QLoRA: nf4 + "
          "double quantization + bf16 compute (bitsandbytes Linear4bit, lm_head kept), "
          "peft.prepare_model_for_kbit_training (fp32 upcast, its gradient checkpointing), "
          "LoRA dropout 0.05, bf16 autocast as Trainer(bf16=True); inference: generate() greedy "
          "with min_new_tokens = max_new_tokens; checkpointing non-reentrant except QLoRA (peft's "
          "default)")


def software_versions() -> dict[str, Any]:
    """Versions of what produced the numbers."""
    import torch
    import transformers

    out: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "torch_cuda": torch.version.cuda,
                           "transformers": transformers.__version__}
    for name in ("peft", "bitsandbytes"):  # by metadata: importing bitsandbytes starts CUDA
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    out["alloc_conf"] = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    return out


def _preload(cases: list[Case]) -> None:
    """Import torch and transformers once in the parent so that forked children start at once.

    Not peft or bitsandbytes: importing bitsandbytes (which peft does when it is installed)
    initialises CUDA, and a forked child cannot use CUDA its parent started.
    """
    import torch
    import transformers  # noqa: F401

    if any(c.method in ("lora", "qlora") for c in cases) and \
            importlib.util.find_spec("bitsandbytes") is None:
        import peft  # noqa: F401
    assert not torch.cuda.is_initialized(), "the parent must not start CUDA before forking"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen grids and write one JSON document (rewritten after each case)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--grid", default="main",
                        help="tiny | main | extra | holdout | qlora | qlora-holdout | h200-lm | "
                        "h200-lm-holdout | mlm | all-lm, or several joined by commas")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--out", type=Path, help="JSON file to write (rewritten after each case)")
    parser.add_argument("--budget-s", type=float, default=380.0,
                        help="start no new case after this many seconds")
    parser.add_argument("--case-timeout-s", type=float, default=120.0)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    args = parser.parse_args(argv)
    cases = [(g, c) for g in args.grid.split(",") for c in grid(g)
             if not args.only or args.only in c.name]
    if args.list:
        for g, c in cases:
            print(f"{g}: {c.name}")
        print(f"{len(cases)} cases")
        return 0
    if args.out is None:
        parser.error("--out is required unless --list")
    _preload([c for _, c in cases])
    start = time.monotonic()
    nvml = launch.Nvml()
    doc: dict[str, Any] = {
        "schema": SCHEMA, "version": 2,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": args.device, "gpu": nvml.facts(), "software": software_versions(),
        "method": METHOD, "configs": {}, "context": None, "cases": [],
    }
    if args.device == "cuda":
        doc["context"] = launch.run(None, device=args.device, timeout_s=args.case_timeout_s,
                                    start="fork", nvml=nvml)
        print("context", json.dumps(doc["context"]), flush=True)
    for g, case in cases:
        if time.monotonic() - start > args.budget_s:
            print(f"budget spent: skipping {case.name}", flush=True)
            continue
        doc["configs"].setdefault(case.config, load_config_dict(case.config))
        result = launch.run(case.spec, device=args.device, timeout_s=args.case_timeout_s,
                            start="fork", nvml=nvml)
        entry = case.record()
        entry["grid"] = g
        entry["holdout"] = g in HOLDOUT_GRIDS
        entry["result"] = result
        doc["cases"].append(entry)
        peak = result.get("nvml_used_peak_bytes")
        print(f"{case.name}: {result['status']} nvml={(peak or 0) / 2**30:.2f} GiB "
              f"reserved={(result.get('max_reserved_bytes') or 0) / 2**30:.2f} GiB "
              f"alloc={(result.get('max_allocated_bytes') or 0) / 2**30:.2f} GiB "
              f"step={result.get('step_seconds')} s t={time.monotonic() - start:.0f}s "
              f"{result.get('error', '')}", flush=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    doc["elapsed_s"] = round(time.monotonic() - start, 1)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
