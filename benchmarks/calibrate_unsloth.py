"""Unsloth's QLoRA measured on the GPU machine (issue 23, item 2): what the stack most hobbyists
use for LoRA/QLoRA needs, against the figures Unsloth publishes (``catalog/data/stacks.toml``).

The model is Llama 3.1 8B's configuration with random weights (no weights are downloaded: the
machine has no network), saved once as bf16 safetensors beside a small word-level tokenizer, then
loaded the way Unsloth's notebooks load a model: ``FastLanguageModel.from_pretrained(...,
load_in_4bit=True)``, ``get_peft_model(r=16, every linear layer, lora_alpha=16, dropout 0,
use_gradient_checkpointing="unsloth")`` and bitsandbytes' 8-bit AdamW (their ``adamw_8bit``).
Each case runs four steps of random tokens in its own process; a card of N GiB is the allocator
capped at what that card leaves (``calibrate_capped.card_cap``: the card less the driver's
reservation less the CUDA context of the first capped call). The parent polls every child's
per-process NVML memory.

    python benchmarks/calibrate_unsloth.py --out DIR        # on the GPU machine, Unsloth installed

Results: ``DIR/unsloth.jsonl`` (one line per run as it ends) and ``DIR/unsloth.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GIB = 2**30
#: The first capped call's context measurement (tests/data/calibration/capped/h100-2026-12-06.json,
#: ``context_bytes_for_caps``): the caps match that record's.
CONTEXT_BYTES = 727_711_744
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
#: (name, batch, sequence, card GiB or None for the generous run)
CASES = [
    ("unsloth-llama-3.1-8b-qlora-b1-s2048", 1, 2048, None),
    ("unsloth-llama-3.1-8b-qlora-b1-s2048", 1, 2048, 8),
    ("unsloth-llama-3.1-8b-qlora-b1-s2048", 1, 2048, 6),
    ("unsloth-llama-3.1-8b-qlora-b1-s8192", 1, 8192, None),
    ("unsloth-llama-3.1-8b-qlora-b1-s8192", 1, 8192, 12),
    ("unsloth-llama-3.1-8b-qlora-b1-s8192", 1, 8192, 10),
    ("unsloth-llama-3.1-8b-qlora-b1-s8192", 1, 8192, 8),
    ("unsloth-llama-3.1-8b-qlora-b1-s1024", 1, 1024, 6),
]


def build(model_dir: Path) -> dict[str, Any]:
    """Write Llama 3.1 8B's configuration with random bf16 weights and a small tokenizer."""
    import calibration_grids as cg
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    t0 = time.monotonic()
    cfg = dict(cg.load_config_dict("llama-3.1-8b"))
    config = LlamaConfig(**cfg)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    model.save_pretrained(model_dir, safe_serialization=True, max_shard_size="4GB")
    del model
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {t: i for i, t in enumerate(specials + [f"w{i}" for i in range(4000)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="<pad>")
    fast.model_max_length = 131072
    fast.save_pretrained(model_dir)
    return {"build_seconds": round(time.monotonic() - t0, 1), "vocab_size": config.vocab_size}


def _show_cap(torch: Any, cap: int) -> None:
    """Make ``torch.cuda.mem_get_info`` answer as a card with ``cap`` bytes for the allocator
    would: Transformers sizes its loading warm-up (one block of the model's size, at most the
    free memory less 1.2 GiB) and Unsloth its choices from it, and the allocator cap alone is
    invisible there (the first call's 6 GB run failed on a 5.21 GiB warm-up block that a real
    6 GB card would have made smaller)."""
    real = torch.cuda.mem_get_info

    def capped(device: Any = None) -> tuple[int, int]:
        free, total = real(device)
        left = cap - int(torch.cuda.memory_reserved(device))
        return max(0, min(int(free), left)), min(int(total), cap + CONTEXT_BYTES)

    torch.cuda.mem_get_info = capped


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One run: load with Unsloth, four steps, the peaks."""
    rec: dict[str, Any] = {"status": "error"}
    t0 = time.monotonic()
    try:
        import torch

        total = int(torch.cuda.get_device_properties(0).total_memory)
        if spec["cap_bytes"]:
            torch.cuda.set_per_process_memory_fraction(min(1.0, spec["cap_bytes"] / total))
            if spec.get("cap_visible"):
                _show_cap(torch, int(spec["cap_bytes"]))
        import unsloth
        from unsloth import FastLanguageModel

        rec["unsloth"] = getattr(unsloth, "__version__", "?")
        model, _tok = FastLanguageModel.from_pretrained(
            model_name=spec["model_dir"], max_seq_length=spec["seq"], dtype=torch.bfloat16,
            load_in_4bit=True, local_files_only=True)
        rec["loaded_allocated_bytes"] = int(torch.cuda.memory_allocated())
        model = FastLanguageModel.get_peft_model(
            model, r=16, target_modules=TARGETS, lora_alpha=16, lora_dropout=0, bias="none",
            use_gradient_checkpointing="unsloth", random_state=0)
        import bitsandbytes as bnb

        params = [p for p in model.parameters() if p.requires_grad]
        rec["trainable_params"] = int(sum(p.numel() for p in params))
        opt = bnb.optim.AdamW8bit(params, lr=1e-4)
        model.train()
        vocab = int(model.config.vocab_size)
        ids = torch.randint(4, vocab, (spec["batch"], spec["seq"]), device="cuda")
        times = []
        for _ in range(4):
            s = time.perf_counter()
            out = model(input_ids=ids, labels=ids)
            out.loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - s)
        rec.update(status="ok", loss=float(out.loss.detach().float().item()),
                   step_seconds=sorted(times[1:])[1])
    except Exception as exc:  # noqa: BLE001 - every failure is a result here
        text = f"{type(exc).__name__}: {exc}"
        rec["error"] = text[-2000:]
        if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
            rec["status"] = "oom"
        else:
            import traceback

            rec["traceback"] = traceback.format_exc()[-4000:]
    try:
        import torch

        rec["max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        rec["max_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
        stats = torch.cuda.memory_stats()
        rec["allocator"] = {"num_alloc_retries": stats.get("num_alloc_retries"),
                            "num_ooms": stats.get("num_ooms")}
    except Exception:  # noqa: BLE001
        pass
    rec["child_seconds"] = round(time.monotonic() - t0, 2)
    return rec


def main(argv: list[str] | None = None) -> int:
    """Build the model once, then run every case in its own process (two at a time)."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--model-dir", type=Path, default=Path("/tmp/unsloth-llama-3.1-8b"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--case-timeout-s", type=float, default=240.0)
    p.add_argument("--cap-visible", action="store_true",
                   help="capped runs: torch.cuda.mem_get_info answers as the capped card would")
    p.add_argument("--cases", help="only these runs: NAME@CARD,... (CARD 0: generous)")
    args = p.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(json.loads(args.child))), flush=True)
        return 0
    if args.build:
        print("RESULT " + json.dumps(build(args.model_dir)), flush=True)
        return 0
    if args.out is None:
        p.error("--out is required")
    from calibrate_capped import ProcessPeaks, card_cap

    args.out.mkdir(parents=True, exist_ok=True)
    peaks = ProcessPeaks()
    doc: dict[str, Any] = {"schema": "rigready.calibration.unsloth", "version": 1,
                           "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "gpu": peaks.facts(), "context_bytes_for_caps": CONTEXT_BYTES,
                           "recipe": {"load_in_4bit": True, "r": 16, "lora_alpha": 16,
                                      "target_modules": TARGETS, "lora_dropout": 0,
                                      "use_gradient_checkpointing": "unsloth",
                                      "optimizer": "bitsandbytes AdamW8bit", "steps": 4},
                           "runs": []}
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", TOKENIZERS_PARALLELISM="false")
    built = subprocess.run([sys.executable, __file__, "--build", "--model-dir",
                            str(args.model_dir)], capture_output=True, text=True, env=env,
                           timeout=300, check=False)
    doc["build"] = _result(built.stdout) or {"error": built.stderr[-3000:]}
    print("build:", json.dumps(doc["build"])[:400], flush=True)
    # Unsloth writes its compiled kernels' cache into the working folder: not into the results
    work = tempfile.mkdtemp(prefix="unsloth-work-")
    lock = threading.Lock()
    slots = threading.Semaphore(args.parallel)

    def one(name: str, batch: int, seq: int, card: int | None) -> None:
        cap = card_cap(card, CONTEXT_BYTES) if card else None
        spec = {"model_dir": str(args.model_dir), "batch": batch, "seq": seq, "cap_bytes": cap,
                "cap_visible": args.cap_visible}
        with slots:
            proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env, cwd=work)
            try:
                stdout, stderr = proc.communicate(timeout=args.case_timeout_s)
                res = _result(stdout) or {"status": "error", "error": stderr[-3000:]}
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
                res = {"status": "timeout", "error": stderr[-1500:]}
        res["nvml_process_peak_bytes"] = peaks.peaks.get(proc.pid)
        entry = {"name": name, "card_gib": card, "cap_bytes": cap, "batch": batch, "seq": seq,
                 "cap_visible": bool(card and args.cap_visible),
                 "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "result": res}
        with lock:
            doc["runs"].append(entry)
            with (args.out / "unsloth.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
            print(f"{name} card={card}: {res.get('status')} "
                  f"alloc={(res.get('max_allocated_bytes') or 0) / GIB:.2f} "
                  f"res={(res.get('max_reserved_bytes') or 0) / GIB:.2f} "
                  f"proc={(res.get('nvml_process_peak_bytes') or 0) / GIB:.2f} GiB "
                  f"step={res.get('step_seconds')} {str(res.get('error', ''))[:300]}",
                  flush=True)

    cases = CASES
    if args.cases:
        wanted = {tuple(w.rsplit("@", 1)) for w in args.cases.split(",") if w}
        cases = [c for c in CASES if (c[0], str(c[3] or 0)) in wanted]
    threads = [threading.Thread(target=one, args=c) for c in cases]
    for t in threads:
        t.start()
        time.sleep(1.0)
    for t in threads:
        t.join()
    (args.out / "unsloth.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return 0


def _result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    return None


if __name__ == "__main__":
    raise SystemExit(main())
