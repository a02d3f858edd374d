"""The child process of a measurement: build the model, run the steps, report what was measured.

Run by :mod:`rigready.assess.measure.launch`, never in the caller's process: the CUDA context, the
caching allocator and every tensor die with the child, so nothing stays on the GPU and one model
never inflates the next. Torch, transformers, peft and bitsandbytes are imported here only.

The workload is what people run with the Hugging Face stack: ``from_config`` with random weights
(no download); LoRA through ``peft.get_peft_model``; QLoRA as the standard recipe (nf4 with double
quantization and bf16 compute, ``peft.prepare_model_for_kbit_training``, which upcasts every
non-quantized parameter to fp32 and turns gradient checkpointing on); training steps with the
loss the model computes from labels, fused AdamW, ``zero_grad(set_to_none=True)``; inference with
greedy ``generate``. The child sends ``{"event": "built"}`` once the model is on the GPU (the
parent then starts counting the step peak) and ``{"event": "result", ...}`` at the end.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from rigready.assess.measure import tasks
from rigready.assess.measure.spec import MeasureSpec

Send = Callable[[dict[str, Any]], None]


def _from_config(auto: Any, config: Any, dtype: Any, attn: str) -> Any:
    try:
        return auto.from_config(config, dtype=dtype, attn_implementation=attn)
    except TypeError:  # transformers before 4.56 names it torch_dtype
        return auto.from_config(config, torch_dtype=dtype, attn_implementation=attn)


def hf_config(spec: MeasureSpec) -> Any:
    """The transformers config object of the spec's ``config.json`` dict."""
    import transformers

    cfg = {k: v for k, v in spec.config.items() if not k.startswith("_")}
    model_type = cfg.pop("model_type")
    config = transformers.AutoConfig.for_model(model_type, **cfg)
    if spec.task == "seq-cls":
        config.num_labels = 2
    config.use_cache = spec.method == "inference"
    tasks.text_config(config).use_cache = config.use_cache
    return config


def _auto(spec: MeasureSpec) -> Any:
    return tasks.auto_class(spec)


def _task_type(spec: MeasureSpec) -> str | None:
    """peft's task type (none for masked LM and Whisper: the plain PeftModel passes every
    input on)."""
    return tasks.PEFT_TASK.get(spec.task)


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Every parameter registered inside goes to the meta device; buffers stay real (on the
    default device). ``from_pretrained`` builds models this way (accelerate's
    ``init_empty_weights`` with its default ``include_buffers=False``), so a model's
    non-persistent buffers (rotary frequencies, Gemma's embedding scale, position ids) keep
    the values its constructor computed."""
    import torch

    register = torch.nn.Module.register_parameter

    def to_meta(module: Any, name: str, param: Any) -> None:
        register(module, name, param)
        if param is not None and not param.is_meta:
            kept = module._parameters[name]
            module._parameters[name] = type(kept)(kept.to("meta"),
                                                  requires_grad=kept.requires_grad)

    torch.nn.Module.register_parameter = to_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register


def _build_plain(spec: MeasureSpec, config: Any, device: str) -> Any:
    """The model as ``from_pretrained(dtype=..., device_map=device)`` leaves it: parameters
    made on the meta device in the target dtype, tied (an untied output head never exists on
    the GPU: building Gemma 3 4B directly there left its 1.25 GiB head in the build peak and
    its freed block in the reserved memory), then given real storage on ``device``."""
    import torch

    half = spec.precision == "bf16" or (spec.precision == "amp-bf16" and spec.method != "full")
    dtype = torch.bfloat16 if half else torch.float32
    with _parameters_on_meta():
        model = _from_config(_auto(spec), config, dtype, spec.attn)
    model.tie_weights()
    _materialize(model, device)
    model = model.to(device)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"still on the meta device after the build: {left[:5]}")
    return model


def _is_head(model: Any, name: str, module: Any) -> bool:
    """The output head stays unquantized, as transformers' bitsandbytes integration keeps it."""
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    leaf = name.rsplit(".", 1)[-1]
    return module is out or leaf in ("lm_head", "score", "classifier")


def linear4bit(old: Any, device: str, storage: Any = None) -> Any:
    """A bitsandbytes nf4 Linear (double quantization, bf16 compute) with random weights, made
    on the GPU one matrix at a time so an 8B model never exists there in 16 bits; ``storage``
    is the packed weights' dtype (uint8 when None; FSDP needs bf16 to shard them)."""
    import bitsandbytes as bnb
    import torch

    storage = torch.uint8 if storage is None else storage
    new = bnb.nn.Linear4bit(old.in_features, old.out_features, bias=old.bias is not None,
                            compute_dtype=torch.bfloat16, compress_statistics=True,
                            quant_type="nf4", quant_storage=storage, device="meta")
    w = torch.empty(old.out_features, old.in_features, dtype=torch.bfloat16, device=device)
    w.normal_(0.0, 0.02)
    new.weight = bnb.nn.Params4bit(w, requires_grad=False, compress_statistics=True,
                                   quant_type="nf4", quant_storage=storage,
                                   module=new).to(device)
    del w
    if old.bias is not None:
        new.bias = torch.nn.Parameter(torch.zeros(old.out_features, dtype=torch.bfloat16,
                                                  device=device), requires_grad=False)
    return new


def _fresh(name: str, meta: Any, device: str) -> Any:
    """A real tensor for a meta one: norms 1, biases 0, matrices N(0, 0.02), rotary
    frequencies and position ids as the model would compute them (values barely matter for
    memory, but they keep the loss finite)."""
    import torch

    if name.endswith("inv_freq"):
        n = meta.numel()
        exps = torch.arange(0, 2 * n, 2, dtype=torch.float32, device=device) / (2 * n)
        return (1.0 / (10000.0 ** exps)).to(meta.dtype).reshape(meta.shape)
    if name.endswith("position_ids"):
        return torch.arange(meta.shape[-1], device=device).expand(meta.shape).to(meta.dtype)
    out = torch.empty(meta.shape, dtype=meta.dtype, device=device)
    if meta.dim() >= 2 and meta.is_floating_point():
        return out.normal_(0.0, 0.02)
    if name.endswith("weight") and meta.is_floating_point():
        return out.fill_(1.0)
    return out.zero_()


def _materialize(model: Any, device: str) -> None:
    """Give every parameter and buffer still on the meta device real storage (tied ones stay
    tied: one new tensor per old one)."""
    import torch

    done: dict[int, Any] = {}
    for module in model.modules():
        for pname, p in list(module._parameters.items()):
            if p is None or not p.is_meta:
                continue
            if id(p) not in done:
                done[id(p)] = torch.nn.Parameter(_fresh(pname, p, device),
                                                 requires_grad=p.requires_grad)
            module._parameters[pname] = done[id(p)]
        for bname, b in list(module._buffers.items()):
            if b is None or not b.is_meta:
                continue
            if id(b) not in done:
                done[id(b)] = _fresh(bname, b, device)
            module._buffers[bname] = done[id(b)]
        for attr, value in list(vars(module).items()):  # e.g. rotary original_inv_freq
            if isinstance(value, torch.Tensor) and value.is_meta:
                setattr(module, attr, done.get(id(value), _fresh(attr, value, device)))


def _build_qlora(spec: MeasureSpec, config: Any, device: str) -> Any:
    import torch

    with torch.device("meta"):
        model = _from_config(_auto(spec), config, torch.bfloat16, spec.attn)
    for pname, parent in list(model.named_modules()):
        for cname, child in list(parent.named_children()):
            full = f"{pname}.{cname}" if pname else cname
            if type(child) is torch.nn.Linear and not _is_head(model, full, child):
                parent._modules[cname] = linear4bit(child, device)
    _materialize(model, device)
    # what from_pretrained(quantization_config=...) marks; peft reads it
    model.is_loaded_in_4bit = True
    model.quantization_method = "bitsandbytes"
    return model


def _targets(spec: MeasureSpec) -> Any:
    return "all-linear" if spec.lora_targets == ("all-linear",) else list(spec.lora_targets)


def build(spec: MeasureSpec, device: str) -> tuple[Any, Any, dict[str, Any]]:
    """The model ready to step, its config and what was recorded while building it."""
    import torch

    config = hf_config(spec)
    notes: dict[str, Any] = {}
    cuda = device == "cuda"
    if spec.method == "inference" and spec.precision == "nf4":
        # what from_pretrained(quantization_config=BitsAndBytesConfig(load_in_4bit=True,
        # bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        # bnb_4bit_compute_dtype=torch.bfloat16)) builds: every Linear but the head in nf4
        return _build_qlora(spec, config, device), config, notes
    if spec.method == "qlora":
        import peft

        model = _build_qlora(spec, config, device)
        if cuda:
            notes["quantized_allocated_bytes"] = int(torch.cuda.memory_allocated())
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=spec.checkpointing)
        lcfg = peft.LoraConfig(r=spec.lora_rank, lora_alpha=2 * spec.lora_rank,
                               lora_dropout=0.05, target_modules=_targets(spec),
                               task_type=_task_type(spec))
        model = peft.get_peft_model(model, lcfg)
        notes["gradient_checkpointing"] = bool(getattr(model, "is_gradient_checkpointing",
                                                       spec.checkpointing))
        for module in model.modules():  # which checkpoint function peft's default gave
            func = getattr(module, "_gradient_checkpointing_func", None)
            if func is not None:
                notes["checkpoint_kwargs"] = repr(getattr(func, "keywords", func))[:120]
                break
        return model, config, notes
    model = _build_plain(spec, config, device)
    if spec.method == "lora":
        import peft

        lcfg = peft.LoraConfig(r=spec.lora_rank, lora_alpha=2 * spec.lora_rank,
                               lora_dropout=0.0, target_modules=_targets(spec),
                               task_type=_task_type(spec))
        # peft keeps adapters in fp32 over a half-precision base unless told otherwise (AMP
        # LoRA); pure bf16 LoRA keeps them in bf16
        model = peft.get_peft_model(model, lcfg,
                                    autocast_adapter_dtype=spec.precision != "bf16")
    if spec.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if spec.method == "lora":
            model.enable_input_require_grads()
    return model, config, notes


def _sync(cuda: bool) -> None:
    if cuda:
        import torch

        torch.cuda.synchronize()


def _train(spec: MeasureSpec, model: Any, inputs: dict[str, Any], device: str,
           rec: dict[str, Any]) -> None:
    import torch

    cuda = device == "cuda"
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, fused=cuda)
    amp = spec.precision.startswith("amp") or spec.method == "qlora"
    times: list[float] = []
    loss_value = float("nan")
    for step in range(spec.steps):
        _sync(cuda)
        if step == 1 and cuda:
            rec["persistent_before_step2_bytes"] = int(torch.cuda.memory_allocated())
        t0 = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=amp):
            loss = model(**inputs).loss
        if step == 1 and cuda:
            _sync(cuda)
            rec["after_forward_step2_bytes"] = int(torch.cuda.memory_allocated())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss_value = float(loss.detach().float().item())
        del loss
        _sync(cuda)
        times.append(time.perf_counter() - t0)
    rec["step_times_s"] = [round(t, 5) for t in times]
    rec["step_seconds"] = round(statistics.median(times[1:] or times), 5)
    rec["final_loss"] = loss_value
    rec["tokens_per_step"] = spec.batch * spec.seq


def _infer(spec: MeasureSpec, model: Any, inputs: dict[str, Any], device: str,
           rec: dict[str, Any]) -> None:
    import torch

    cuda = device == "cuda"
    model.eval()
    short = {k: (v[:, :8] if k in ("input_ids", "attention_mask") else v)
             for k, v in inputs.items()} if spec.task == "causal-lm" else inputs
    with torch.inference_mode():
        warm = model.generate(**short, max_new_tokens=2, do_sample=False, pad_token_id=0)
        del warm
        _sync(cuda)
        t0 = time.perf_counter()  # the prompt's forward pass and one sampled token
        model.generate(**inputs, max_new_tokens=1, do_sample=False, pad_token_id=0)
        _sync(cuda)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = model.generate(**inputs, max_new_tokens=spec.new_tokens,
                             min_new_tokens=spec.new_tokens, do_sample=False, pad_token_id=0)
        _sync(cuda)
        total = time.perf_counter() - t0
    rec["generated_tokens"] = int(out.shape[1] - inputs["input_ids"].shape[1])
    rec["prefill_seconds"] = round(prefill, 5)
    rec["step_seconds"] = round(total, 5)  # one whole generate call
    if spec.new_tokens > 0:
        rec["decode_token_seconds"] = round(max(0.0, total - prefill) / spec.new_tokens, 6)


def run(spec: MeasureSpec, device: str, send: Send) -> dict[str, Any]:
    """Build and run ``spec`` on ``device`` (``cuda`` or ``cpu``); the result record."""
    import torch

    cuda = device == "cuda"
    rec: dict[str, Any] = {}
    if cuda:
        torch.zeros(1, device="cuda")
        tasks.apply_cap(spec, rec)
    t0 = time.perf_counter()
    _STAGE["stage"] = "build"
    model, config, notes = build(spec, device)
    rec.update(notes)
    if cuda:
        torch.cuda.synchronize()
        rec["weights_allocated_bytes"] = int(torch.cuda.memory_allocated())
        rec["build_max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()
    rec["build_seconds"] = round(time.perf_counter() - t0, 3)
    rec["param_count"] = int(sum(_numel(p) for p in model.parameters()))
    rec["trainable_params"] = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    send({"event": "built"})
    _STAGE["stage"] = "steps"
    inputs = tasks.batch(spec, model, config, device, training=spec.method != "inference")
    if spec.method == "inference":
        _infer(spec, model, inputs, device, rec)
    else:
        _train(spec, model, inputs, device, rec)
    if cuda:
        tasks.record_cuda_peaks(rec)
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    return rec


#: How far the child got, for the record of a failure (build or steps).
_STAGE: dict[str, str] = {"stage": "start"}


def _numel(p: Any) -> int:
    """Parameters a weight stands for (a packed 4-bit weight holds two per byte)."""
    shape = getattr(getattr(p, "quant_state", None), "shape", None)
    if shape is not None:
        n = 1
        for d in shape:
            n *= int(d)
        return n
    return int(p.numel())


def context_probe(device: str) -> dict[str, Any]:
    """The CUDA context by itself: NVML used before CUDA starts, after init, and after one bf16
    matmul (which loads cuBLAS and its workspace)."""
    import torch

    from rigready.assess.measure.launch import Nvml

    nv = Nvml()
    rec: dict[str, Any] = {"nvml_before_init_bytes": nv.used()}
    torch.zeros(1, device=device)
    torch.cuda.synchronize()
    rec["nvml_after_init_bytes"] = nv.used()
    a = torch.randn(1024, 1024, device=device, dtype=torch.bfloat16)
    (a @ a).sum().item()
    torch.cuda.synchronize()
    rec["nvml_after_matmul_bytes"] = nv.used()
    rec["reserved_after_matmul_bytes"] = int(torch.cuda.memory_reserved())
    return rec


def guarded(spec: MeasureSpec | None, device: str, send: Send) -> None:
    """Run and send the result; every failure is a result too (``oom`` or ``error``)."""
    try:
        result = context_probe(device) if spec is None else run(spec, device, send)
        result["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded result
        text = f"{type(exc).__name__}: {exc}"
        oom = "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError"
        result = {"status": "oom" if oom else "error", "error": text[:600],
                  "traceback": traceback.format_exc()[-1500:], "stage": _STAGE["stage"]}
        if oom:
            result.update(tasks.oom_figures(text))
            result.update(tasks.peaks_after_failure())
    send({"event": "result", **result})


def main() -> int:
    """``python -m rigready.assess.measure.child``: a JSON request on stdin, JSON-line events on
    stdout
    (everything else the libraries print goes to stderr)."""
    request = json.loads(sys.stdin.readline())
    out = sys.stdout
    sys.stdout = sys.stderr

    def send(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    spec = MeasureSpec.from_dict(request["spec"]) if request.get("spec") else None
    guarded(spec, str(request.get("device", "cuda")), send)
    return 0


if __name__ == "__main__":
    sys.exit(main())
