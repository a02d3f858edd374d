"""The one sentence an answer starts with: yes or no for this card, and the route that works.

A hobbyist asks "can I run / fine-tune X on my card?" and acts on the first line. The estimate
itself describes one stack (Transformers, a diffusers pipeline); the people asking mostly use
another: a llama.cpp-based app (LM Studio, Ollama) to run a language model, Unsloth to
fine-tune one. :func:`answer` puts the route that works first and the estimated stack beside it:

- running a language model: the llama.cpp answer (a GGUF, :mod:`.language.llamacpp`) first,
  then Transformers;
- LoRA / QLoRA: the standard Hugging Face stack (the estimate); where it does not fit and
  Unsloth's published table says it does, "Yes with Unsloth", marked published, not measured;
- generating images: as a ComfyUI / Forge-class app runs the pipeline (the default of the CLI
  and the window), with the plain diffusers pipeline's need beside it;
- everything else: the estimate's own verdict.

A "no" names what does instead (a 4-bit route, QLoRA, a rental, a card), never a change that
makes the job pointless (:mod:`.useful`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from rigready.assess.estimate.estimator import memory
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language.llamacpp import LlamaCppPlan
from rigready.assess.estimate.result import Estimate, Suggestion
from rigready.assess.estimate.stack_need import StackNeed, card_words
from rigready.assess.estimate.useful import MIN_USEFUL_SEQ
from rigready.assess.units import GIB

AnswerStatus = Literal["yes", "tight", "slow", "no", "unknown"]
#: Largest vocabulary Unsloth's VRAM table is taken to cover: the models it was published with
#: (Llama 3's 128,256 tokens, Qwen's 151,936). A larger vocabulary (Gemma's 262,144) makes the
#: embeddings, the head and the logits several GB bigger than the table allows for, so its
#: figure is not used as a "yes" there (truth first: a yes that dies is the worst answer).
STACK_TABLE_MAX_VOCAB = 160_000
_METHOD = {"lora": "LoRA", "qlora": "QLoRA", "full": "full fine-tuning"}


@dataclass(frozen=True, slots=True)
class Answer:
    """The first line of an answer, and what it rests on."""

    status: AnswerStatus
    #: One sentence: yes or no for this card, naming the route that works.
    sentence: str
    #: The runtime or stack the sentence recommends (``llama.cpp``, ``transformers``,
    #: ``unsloth``, ``diffusers``; "" when nothing works).
    route: str
    #: Where the figures come from when they are not rigready's estimate (published tables).
    notes: tuple[str, ...] = ()


def answer(est: Estimate, *, gguf: LlamaCppPlan | None = None,
           stack: StackNeed | None = None, plain: Estimate | None = None) -> Answer:
    """The first line for ``est`` on its GPU (``est.gpu`` must be set): ``gguf``, the same
    model as a llama.cpp GGUF (running a language model); ``stack``, a lighter fine-tuning
    stack's published need (LoRA / QLoRA); ``plain``, the same image generation in a plain
    diffusers pipeline, said beside a ComfyUI / Forge-class answer."""
    assert est.gpu is not None and est.verdict is not None
    wl = est.workload
    if not wl.training and est.shape.image is None and gguf is not None:
        return _run_language(est, gguf)
    if wl.method in ("lora", "qlora") and est.shape.image is None:
        return _fine_tune(est, stack)
    return _plain(est, _plain_pipeline_words(est, plain))


def _need(est: Estimate) -> float:
    """The least memory the job needs free on a card, GiB: the figure the verdict is judged
    on (:attr:`~rigready.assess.estimate.breakdown.MemoryBreakdown.needs_free_bytes`)."""
    return est.memory.needs_free_bytes / GIB


def _free(est: Estimate) -> str:
    assert est.gpu is not None
    return f"{est.gpu.job_bytes / GIB:.1f} GiB free on your GPU"


def _transformers_words(est: Estimate) -> str:
    """How the Transformers estimate fares, in a clause."""
    v, p = est.verdict, est.workload.resolved_precision
    assert v is not None
    tps = est.timing.tokens_per_s
    speed = f", about {tps:,.0f} tokens/s" if tps else ""
    if v.status == "fits":
        return f"Transformers in {p} fits too ({_need(est):.1f} GiB{speed})"
    if v.status == "tight":
        return f"Transformers in {p} fits only tightly ({_need(est):.1f} GiB)"
    if v.status == "offload":
        slow = f", about {v.offload_slowdown:.1f}x slower" if v.offload_slowdown else ""
        return f"Transformers in {p} would need CPU offload{slow}"
    return f"Transformers in {p} does not fit (needs {_need(est):.1f} GiB)"


def _run_language(est: Estimate, g: LlamaCppPlan) -> Answer:
    """Running a language model: the llama.cpp route first, Transformers beside it."""
    hf = _transformers_words(est)
    if g.status != "gpu" and est.verdict is not None and est.verdict.status == "fits":
        return Answer("yes", f"Yes with Transformers ({_need(est):.1f} GiB of "
                      f"{_free(est)}); a llama.cpp {g.size.ftype} file would not fit fully on "
                      "the GPU.", "transformers")
    return llamacpp_answer(g, hf)


def llamacpp_answer(g: LlamaCppPlan, beside: str = "") -> Answer:
    """The first line for a GGUF in a llama.cpp-based app; ``beside``: a clause on the other
    runtime, said after it."""
    quant = g.size.ftype
    tps = f", about {g.tokens_per_s:,.0f} tokens/s" if g.tokens_per_s else ""
    also = f"; {beside}" if beside else ""
    if g.gpu is None:
        if g.status == "no-ram":
            return Answer("no", f"No: without a GPU the {quant} file does not fit in RAM"
                          f"{also}. What does: a smaller model or quant, more RAM, or a GPU.", "")
        speed = (f"about {g.tokens_per_s:,.1f} tokens/s" if g.tokens_per_s else
                 "speed unknown: the RAM's bandwidth was not read")
        return Answer("slow", f"Without a GPU, a llama.cpp-based app runs the {quant} file on "
                      f"the CPU from RAM ({speed}){also}.", "llama.cpp")
    if g.status == "gpu":
        return Answer("yes", f"Yes: runs fully on your GPU in a llama.cpp-based app (LM Studio, "
                      f"Ollama; {quant}{tps}){also}.", "llama.cpp")
    if g.status in ("split", "unknown-ram") and g.layers_on_gpu:
        ram = "" if g.status == "split" else " if the RAM is free"
        return Answer("slow", f"Yes, partly on the CPU: a llama.cpp-based app keeps "
                      f"{g.layers_on_gpu} of {g.layers_total} layers on your GPU and the rest in "
                      f"RAM{ram} ({quant}{tps}){also}.", "llama.cpp")
    if g.status in ("split", "cpu", "unknown-ram"):
        return Answer("slow", f"Only on the CPU: not one layer of the {quant} file fits on your "
                      f"GPU, so a llama.cpp-based app runs it from RAM{tps and f' ({tps[2:]})'}"
                      f"{also}. What runs on the GPU: a smaller model or a smaller quant "
                      "(Q3_K_M, Q2_K).", "llama.cpp")
    return Answer("no", f"No: the {quant} file does not fit in your GPU and RAM together{also}. "
                  "What does: a smaller model, a smaller quant, more RAM or a rented GPU "
                  "(rigready plan).", "")


def _fine_tune(est: Estimate, stack: StackNeed | None) -> Answer:
    """LoRA / QLoRA: the standard Hugging Face stack, and Unsloth's published figure."""
    assert est.gpu is not None and est.verdict is not None
    v, wl = est.verdict, est.workload
    method = _METHOD[wl.method]
    hf = "the standard Hugging Face " + method + " stack" + (
        " (PEFT + bitsandbytes)" if wl.method == "qlora" else " (PEFT)")
    need = _need(est)
    notes: tuple[str, ...] = (f"{stack.stack.capitalize()}'s own figure, the table's absolute "
                              f"minimum (a model with a large vocabulary needs more): "
                              f"{stack.source}",) if stack else ()
    if stack is not None and stack.measured_on:
        notes += (f"Measured here: {stack.stack.capitalize()} ran {method} of a model this size "
                  f"at {stack.measured_tokens:,} tokens on {stack.measured_on}",)
    tokens = wl.batch * wl.seq_len
    big_vocab = est.shape.vocab_size > STACK_TABLE_MAX_VOCAB
    lighter = stack is not None and not big_vocab and stack.fits(est.gpu.job_bytes, tokens)
    if v.status in ("fits", "tight"):
        tight = ", only tightly (it may run out of memory)" if v.status == "tight" else ""
        also = (f"; {stack.stack.capitalize()} needs less ({stack.words})" if lighter and stack
                else "")
        return Answer("yes" if v.status == "fits" else "tight",
                      f"Yes: fits with {hf}{tight}, {need:.1f} GiB of {_free(est)}{also}.",
                      "transformers", notes)
    if lighter and stack is not None:
        return Answer("yes", f"Yes with {stack.stack.capitalize()} ({stack.words}); {hf} needs "
                      f"{need:.1f} GiB: no ({_free(est)}).", stack.stack, notes)
    if v.status == "offload":
        slow = f", about {v.offload_slowdown:.1f}x slower" if v.offload_slowdown else ""
        how, per = (("the parameters in system RAM (FSDP CPU offload", " per GPU")
                    if wl.gpus > 1 or wl.param_offload else
                    ("part of the model in system RAM (CPU offload", ""))
        return Answer("slow", f"Only with {how}{slow}): {method} of {est.shape.name} needs "
                      f"{need:.1f} GiB{per} with {hf} otherwise; {_free(est)}.", "transformers",
                      notes)
    why = ""
    if stack is not None:
        if big_vocab and stack.need_bytes <= est.gpu.job_bytes:
            why = (f"; {stack.stack.capitalize()}'s published table ({stack.words}) is for "
                   f"vocabularies up to about 150k tokens, and {est.shape.name}'s "
                   f"{est.shape.vocab_size:,} need several GB more, so it is not counted on")
        elif stack.need_bytes > est.gpu.job_bytes:
            why = f", {stack.stack.capitalize()} {stack.words}"
        elif stack.measured_tokens is not None and stack.measured_card_gib is not None:
            why = (f"; {stack.stack.capitalize()} ran it here at {stack.measured_tokens:,} "
                   f"tokens on {card_words(stack.measured_card_gib)}'s memory (measured), "
                   f"short of {tokens:,}" + (f", and its published context table gives about "
                                       f"{stack.max_tokens:,} on a card this size"
                                       if stack.max_tokens else ""))
        elif stack.max_tokens == 0:
            why = (f", and {stack.stack.capitalize()}'s published context table has no row for "
                   "this little free memory")
        elif stack.max_tokens is not None:
            why = (f", and {stack.stack.capitalize()}'s published context table gives about "
                   f"{stack.max_tokens:,} tokens on a card this size, short of {tokens:,}")
    return Answer("no", f"No: {method} of {est.shape.name} needs {need:.1f} GiB with {hf}"
                  f"{why}; {_free(est)}. {_what_does(est, stack)}", "", notes)


def _plain(est: Estimate, beside: str = "") -> Answer:
    """Every other job: the estimate's own verdict (``beside``: a clause on another route,
    said after it)."""
    assert est.gpu is not None and est.verdict is not None
    v, wl = est.verdict, est.workload
    need = _need(est)
    route = _route(est)
    also = f"; {beside}" if beside else ""
    if v.status == "fits":
        return Answer("yes", f"Yes {route}: needs {need:.1f} of the {_free(est)}{also}.",
                      _route_name(est))
    if v.status == "tight":
        return Answer("tight", f"Yes, but only tightly {route}: needs {need:.1f} of the "
                      f"{_free(est)}, so it may run out of memory{also}.", _route_name(est))
    if v.status == "offload":
        slow = f", about {v.offload_slowdown:.1f}x slower" if v.offload_slowdown else ""
        how = "the optimizer in system RAM" if wl.method == "full" else "CPU offload"
        return Answer("slow", f"Only with {how}{slow}: needs {need:.1f} GiB, {_free(est)}.",
                      _route_name(est))
    free = free_settings(est)
    first = (f" Free settings first: {'; '.join(free)}." if free else "")
    even = "even " if is_app_route(wl) else ""
    return Answer("no", f"No: needs {need:.1f} GiB free {even}{route}; {_free(est)}{also}."
                  f"{first} {_what_does(est)}", "")


def _plain_pipeline_words(est: Estimate, plain: Estimate | None) -> str:
    """How the plain diffusers pipeline fares beside a ComfyUI / Forge-class answer."""
    if plain is None or plain.verdict is None or not is_app_route(est.workload):
        return ""
    need = _need(plain)
    if plain.verdict.status == "fits":
        return f"the plain diffusers pipeline fits too ({need:.1f} GiB)"
    if plain.verdict.status == "tight":
        return f"the plain diffusers pipeline fits only tightly ({need:.1f} GiB)"
    return f"the plain diffusers pipeline needs {need:.1f} GiB"


def free_settings(est: Estimate) -> tuple[str, ...]:
    """Settings that cost nothing but time, offered before a smaller job or a purchase (image
    generation: the estimator's own suggestions cover the language models' checkpointing,
    8-bit optimizer and micro-batches, and a ComfyUI / Forge-class app already loads models
    as needed and decodes in tiles when short)."""
    spec, wl = est.shape.image, est.workload
    if est.shape.kind != "diffusion" or wl.training or est.gpu is None:
        return ()
    out = []
    if getattr(spec, "vae_upcast", False) and "fp16" in wl.resolved_precision:
        fixed = replace(est.shape, image=replace(spec, vae_upcast=False))
        need = memory(fixed, wl, est.gpu.vram_bytes).needs_free_bytes
        verdict = "fits" if need <= est.gpu.job_bytes else "still too much"
        out.append(f"the fp16-fix VAE (madebyollin/sdxl-vae-fp16-fix, decodes in fp16 instead "
                   f"of fp32): {need / GIB:.1f} GiB, {verdict}")
    if not is_app_route(wl) and (wl.offload == "none" or not wl.vae_tiling):
        light = replace(wl, offload="model", vae_tiling=True)
        need = memory(est.shape, light, est.gpu.vram_bytes).needs_free_bytes
        verdict = "fits" if need <= est.gpu.job_bytes else "still too much"
        out.append(f"a ComfyUI / Forge-class app, or diffusers' pipe.enable_model_cpu_offload() "
                   f"and pipe.enable_vae_tiling() (models loaded as needed, tiled VAE decode): "
                   f"{need / GIB:.1f} GiB, {verdict}")
    return tuple(out)


def _route(est: Estimate) -> str:
    """The stack the estimate describes, as a phrase."""
    wl = est.workload
    if est.shape.kind == "diffusion" and not wl.training:
        how = ("models loaded as needed" if wl.offload == "model"
               else "every part stays on the GPU")
        how += ", VAE decoded in tiles" if wl.vae_tiling else ""
        if is_app_route(wl):
            return f"in a ComfyUI / Forge-class app ({how})"
        if wl.offload == "none" and not wl.vae_tiling:
            return "with a plain diffusers pipeline (every part on the GPU)"
        return f"with a diffusers pipeline ({how})"
    if est.shape.image is not None:
        return "with PyTorch"
    return "with Transformers"


def _route_name(est: Estimate) -> str:
    if est.shape.kind == "diffusion" and not est.workload.training:
        return "comfyui" if is_app_route(est.workload) else "diffusers"
    return "transformers"


def is_app_route(wl: Workload) -> bool:
    """Whether an image workload is answered as a ComfyUI / Forge-class app runs it (models
    loaded as needed and a tiled decode when short) rather than as a plain pipeline."""
    return wl.image_runtime == "comfyui"


def _what_does(est: Estimate, stack: StackNeed | None = None) -> str:
    """What would work instead, best first: a lighter stack's measured run at a useful length,
    the estimator's fitting changes (only useful ones), then a route that needs no change of
    the job."""
    fits = [s for s in est.suggestions if s.status == "fits"] or list(est.suggestions)
    options = [_suggestion_words(s) for s in fits[:2]]
    if stack is not None and stack.measured_tokens is not None and \
            stack.measured_tokens >= MIN_USEFUL_SEQ:
        options.insert(0, f"{stack.stack.capitalize()} at {stack.measured_tokens:,} tokens or "
                          "fewer (measured here)")
    wl = est.workload
    if wl.method in ("lora", "full") and est.shape.image is None and not any(
            "QLoRA" in o for o in options):
        options.append("QLoRA (a 4-bit base)")
    if not wl.training and est.shape.image is None and wl.resolved_precision not in ("nf4",):
        options.append("a 4-bit GGUF in a llama.cpp-based app")
    options += ["a smaller model", f"a card with at least {math.ceil(_need(est))} GiB "
                "free, or renting one (rigready plan)"]
    text = "What does: " + "; ".join(dict.fromkeys(options)) + "."
    if est.max_seq == 0 and est.shape.image is None and wl.seq_len >= MIN_USEFUL_SEQ:
        standard = " with the standard stack" if stack is not None else ""
        text += (f" No sequence of {MIN_USEFUL_SEQ} tokens or more fits{standard}, so a shorter "
                 "one is not offered there.")
    return text


def _suggestion_words(s: Suggestion) -> str:
    tight = " (tight)" if s.status == "tight" else ""
    return f"{s.change}{tight}, {(s.needs_free_bytes or s.total_bytes) / GIB:.1f} GiB"
