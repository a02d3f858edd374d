"""The parts of an image step that issue 22 item 5 added to the time model: autocast's weight
casts on the host, TF32 convs' time beside their MMAs, Stable Diffusion's text encoders and the
VAE's walked decode and encode."""

from __future__ import annotations

import pytest

from rigready.assess.estimate import kernels
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import sampling, timing, unet_speed, vision
from rigready.assess.estimate.image import speed as image_speed
from rigready.assess.estimate.image.memory import image_memory
from rigready.assess.estimate.image.shapes import image_shape
from rigready.assess.estimate.inputs import Workload


def _wl(precision: str, method: str = "full", **kw: object) -> Workload:
    return Workload(method=method, precision=precision, batch=32,  # type: ignore[arg-type]
                    image_size=224, **kw)  # type: ignore[arg-type]


def test_autocast_dispatches_a_cast_per_conv_and_linear() -> None:
    # only under autocast: a bf16 or fp32 model's weights are already in the dtype it runs in
    r50 = vision.walk(vision.ARCHS["resnet50"], 224)
    assert image_speed.host_ops(r50, _wl("amp-bf16")) == r50.ops + r50.layers
    assert image_speed.host_ops(r50, _wl("fp32")) == r50.ops
    assert image_speed.host_ops(r50, _wl("bf16", "inference")) == r50.ops
    # EfficientNet's squeeze-excitation convs are too small to time but still cast: two per
    # MBConv block (16 in B0)
    b0 = vision.walk(vision.ARCHS["efficientnet_b0"], 224)
    assert b0.small_convs == 2 * 16
    assert image_speed.host_ops(b0, _wl("amp-bf16")) == b0.ops + b0.layers + b0.small_convs


def test_a_host_paced_amp_step_is_longer_than_the_same_walk_in_fp32_would_dispatch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # with the GPU's work removed, the step is the host's: more operations under autocast
    vit = vision.walk(vision.ARCHS["vit_l_16"], 224)
    monkeypatch.setattr(kernels, "GEMM_LAUNCH_S", 0.0)
    fast = image_speed.scaled_peaks(1e6)

    def step(precision: str) -> float:
        return image_speed.classifier_seconds(vit, _wl(precision), fast, 4.8e9)

    share = (vit.ops + vit.layers) / vit.ops
    assert step("amp-bf16") / step("fp32") == pytest.approx(share, rel=0.02)


def test_tf32_convs_add_the_16_bit_convs_time_beside_their_mmas(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a conv-only step (the host's time aside): in TF32 (half the MMA rate) slower than in
    # bf16, but by less than the MMA rates' ratio, since the time beside the MMAs does not
    # double with it
    monkeypatch.setattr(image_speed, "STEP_OVERHEAD_S", 0.0)
    w = vision.Walk()
    w.gemm(28 * 28, 256 * 9, 256, "conv")
    peaks = image_speed.scaled_peaks(1.0)
    bf16 = image_speed.classifier_seconds(w, _wl("bf16", "inference"), peaks, 1e9)
    tf32 = image_speed.classifier_seconds(w, _wl("fp32", "inference"), peaks, 1e9)
    mma = (kernels.GEMM_EFFICIENCY["bf16"] * peaks["bf16"]) / (
        kernels.GEMM_EFFICIENCY["tf32"] * peaks["tf32"])
    assert 1.2 * bf16 < tf32 < 0.8 * mma * bf16


def test_vae_macs_follow_the_image() -> None:
    # convs scale with the pixels, the mid block's attention with their square: a bit more
    # than 4x from 512 to 1024 px; the encoder (two ResNet blocks a level) does less work
    small, big = dif.walk_vae(512), dif.walk_vae(1024)
    assert 4.0 < big.decode_macs / small.decode_macs < 4.5
    assert 0.3 < small.encode_macs / small.decode_macs < 0.6


def test_text_encoders_are_paced_by_their_layers_not_the_batch() -> None:
    sd15, sdxl = (image_shape(m, m).image for m in ("sd15", "sdxl"))
    assert isinstance(sd15, dif.DiffusionSpec) and isinstance(sdxl, dif.DiffusionSpec)
    peak = kernels.REF_TFLOPS["bf16"]
    # SDXL's CLIP-L + OpenCLIP bigG (44 layers) over SD 1.5's CLIP-L (12)
    assert timing.text_seconds(sdxl, 2, peak) / timing.text_seconds(sd15, 2, peak) == \
        pytest.approx(44 / 12, rel=0.05)
    # eight prompts cost about what two do: 77 tokens a row is no work for the GPU
    assert timing.text_seconds(sd15, 8, peak) < 1.05 * timing.text_seconds(sd15, 2, peak)


def test_a_sampling_call_is_its_steps_text_encoders_and_decode() -> None:
    shape = image_shape("sd15", "sd15")
    spec = shape.image
    assert isinstance(spec, dif.DiffusionSpec)
    wl = Workload(method="inference", precision="fp16", batch=4, image_size=512,
                  sampling_steps=3)
    mem, plan = image_memory(shape, wl)
    t, _ = timing.image_seconds(shape, wl, mem, plan, kernels.REF_TFLOPS,
                                kernels.REF_BANDWIDTH_GB_S)
    peak = kernels.REF_TFLOPS["fp16"]
    unet = unet_speed.unet_step_seconds(dif.walk_unet(spec.unet, 64), wl, kernels.REF_TFLOPS,
                                        kernels.REF_BANDWIDTH_GB_S)
    decode = sampling.vae_seconds(4 * dif.walk_vae(512).decode_macs, peak)
    # classifier-free guidance: the text encoders see two rows a prompt
    assert t == pytest.approx(3 * unet + timing.text_seconds(spec, 8, peak) + decode)


def test_sdxl_decodes_in_fp32_at_the_tf32_rate() -> None:
    # SDXL's fp16 pipeline upcasts the VAE; its convs then run as TF32: a GPU with twice the
    # TF32 rate decodes SDXL faster and leaves SD 1.5 (fp16 decode) as it was
    def call(model: str, peaks: dict[str, float]) -> float:
        shape = image_shape(model, model)
        wl = Workload(method="inference", precision="fp16", batch=1, image_size=1024,
                      sampling_steps=1)
        mem, plan = image_memory(shape, wl)
        return timing.image_seconds(shape, wl, mem, plan, peaks, kernels.REF_BANDWIDTH_GB_S)[0]

    fast = {**kernels.REF_TFLOPS, "tf32": 2 * kernels.REF_TFLOPS["tf32"]}
    saved = sampling.vae_seconds(dif.walk_vae(1024).decode_macs, kernels.REF_TFLOPS["tf32"]) / 2
    assert call("sdxl", kernels.REF_TFLOPS) - call("sdxl", fast) == pytest.approx(saved)
    assert call("sd15", fast) == pytest.approx(call("sd15", kernels.REF_TFLOPS))


def test_a_lora_step_encodes_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # diffusers' LoRA scripts encode every batch's images (VAE encoder) and captions (text
    # encoders) before the UNet: both are in the step and both grow its time
    shape = image_shape("sd15", "sd15")
    wl = Workload(method="lora", precision="bf16", batch=4, image_size=512)
    mem, plan = image_memory(shape, wl)

    def step() -> float:
        return timing.image_seconds(shape, wl, mem, plan, kernels.REF_TFLOPS,
                                    kernels.REF_BANDWIDTH_GB_S)[0]

    full = step()
    peak = kernels.REF_TFLOPS["bf16"]
    spec = shape.image
    assert isinstance(spec, dif.DiffusionSpec)
    encodes = sampling.vae_seconds(4 * dif.walk_vae(512).encode_macs, peak) + \
        timing.text_seconds(spec, 4, peak)
    monkeypatch.setattr(timing, "TEXT_LAYER_S", 0.0)
    monkeypatch.setattr(sampling, "VAE_EFFICIENCY", 1e9)
    assert full - step() == pytest.approx(encodes, rel=0.01)
