"""Image classifiers as their own family: ResNet, EfficientNet, ConvNeXt and ViT, layer by layer.

Each architecture is walked stage by stage and block by block (the torchvision layouts) to get,
per image, the tensors autograd keeps for backward, the largest set alive at once in inference,
the parameters and the multiply-accumulates. Sizes follow from the input side: a 320 px image
has (320/224)^2 the activations of a 224 px one, never a token count.

Saved tensors are tagged by what decides their dtype:

- ``a``: an activation in the compute dtype (bf16 under autocast or a bf16 model, fp32 in fp32);
- ``f``: fp32 even under autocast (LayerNorm inputs, ConvNeXt/ViT residual streams);
- ``c``: the input a conv/Linear keeps of a tensor nobody else keeps: a bf16 copy under
  autocast, the tensor itself otherwise;
- ``i``: int64 indices (max-pool), ``m``: one-byte masks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

TAGS = ("a", "f", "c", "i", "m")


@dataclass
class Walk:
    """Per-image totals gathered while walking an architecture (elements by tag)."""

    saved: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TAGS, 0.0))
    #: Largest (input + output + held residual) elements of one layer, inference.
    live_peak: float = 0.0
    #: Largest single tensor (elements): what backward's gradient buffers and cuDNN's
    #: workspaces scale with.
    largest: float = 0.0
    macs: float = 0.0
    params: int = 0
    #: Convolutions and Linears: kernel launches scale with them.
    layers: int = 0
    #: Operations a training forward dispatches from Python, counted from torchvision's
    #: ``forward`` code (each conv, norm, activation, pooling, add, mul, dropout, Linear,
    #: attention call and copying reshape): the host's dispatch time scales with them, and
    #: they differ by family far more than the layer count does (an EfficientNet MBConv
    #: dispatches 14-18 for its 3 convs, a ResNet bottleneck 10 for its 3).
    ops: int = 0
    #: Convs too small to time as GEMMs (EfficientNet's squeeze-excitation pair per block,
    #: on one pooled pixel): under autocast each still dispatches its weight's cast to bf16,
    #: as every conv and Linear in ``layers`` does.
    small_convs: int = 0
    #: The step's kernels per image, for the speed model: ``(rows, k, n, kind)`` of each
    #: conv (implicit GEMM: rows = output pixels, k = in channels x kernel area, n = out
    #: channels; kind ``conv`` or ``depthwise``) and Linear (rows = tokens or pixels, kind
    #: ``linear``), and ``(tokens, heads, head_dim)`` of each attention.
    gemms: list[tuple[int, int, int, str]] = field(default_factory=list)
    attention: list[tuple[int, int, int]] = field(default_factory=list)

    def gemm(self, rows: int, k: int, n: int, kind: str = "linear") -> None:
        """Note one conv (as implicit GEMM) or Linear of the step."""
        self.gemms.append((rows, k, n, kind))

    def save(self, tag: str, elems: float) -> None:
        """Count ``elems`` saved elements of dtype class ``tag``."""
        self.saved[tag] += elems

    def live(self, elems: float) -> None:
        """Note a layer's live set (inference peak)."""
        self.live_peak = max(self.live_peak, elems)


@dataclass(frozen=True, slots=True)
class ImageArch:
    """One image classifier: its family and the numbers its layer walk needs."""

    name: str
    family: str  # resnet | efficientnet | convnext | vit
    depths: tuple[int, ...] = ()
    widths: tuple[int, ...] = ()
    bottleneck: bool = True
    width_mult: float = 1.0
    depth_mult: float = 1.0
    patch: int = 16
    heads: int = 12
    mlp: int = 3072
    classes: int = 1000
    default_image: int = 224


def _conv(w: Walk, cin: int, cout: int, k: int, side: int, stride: int = 1,
          groups: int = 1, bias: bool = False) -> int:
    out = math.ceil(side / stride)
    w.params += cout * (cin // groups) * k * k + (cout if bias else 0)
    w.macs += out * out * cout * (cin // groups) * k * k
    w.live(side * side * cin + out * out * cout)
    w.largest = max(w.largest, out * out * cout)
    w.layers += 1
    w.gemm(out * out, (cin // groups) * k * k, cout, "depthwise" if groups > 1 else "conv")
    return out


def _bn(w: Walk, c: int) -> None:
    w.params += 2 * c


def _resnet(arch: ImageArch, side: int, w: Walk) -> None:
    s = _conv(w, 3, 64, 7, side, 2)
    _bn(w, 64)
    w.ops += 4 + 3  # stem: conv, bn, relu, max-pool; head: avg-pool, flatten, fc
    w.save("c", 3 * side * side)  # the image, cast for the first conv
    w.save("a", 2 * 64 * s * s)  # conv output (kept by BN), BN/ReLU output (ReLU, max-pool)
    s2 = math.ceil(s / 2)
    w.save("i", 64 * s2 * s2)  # max-pool indices
    s, cin = s2, 64
    exp = 4 if arch.bottleneck else 1
    for stage, (n, width) in enumerate(zip(arch.depths, arch.widths, strict=True)):
        for block in range(n):
            stride = 2 if (block == 0 and stage > 0) else 1
            cout = width * exp
            out = math.ceil(s / stride)
            w.ops += 10 if arch.bottleneck else 7  # (conv, bn, relu) x 3 or x 2, add, relu
            if arch.bottleneck:
                _conv(w, cin, width, 1, s)
                _conv(w, width, width, 3, s, stride)
                _conv(w, width, cout, 1, out)
                for c in (width, width, cout):
                    _bn(w, c)
                w.save("a", 2 * width * s * s + 2 * width * out * out + 2 * cout * out * out)
            else:
                _conv(w, cin, width, 3, s, stride)
                _conv(w, width, width, 3, out)
                _bn(w, width)
                _bn(w, width)
                w.save("a", 2 * width * out * out + 2 * width * out * out)
            if block == 0 and (stride != 1 or cin != cout):
                _conv(w, cin, cout, 1, s, stride)
                _bn(w, cout)
                w.ops += 2
                w.save("a", cout * out * out)
            w.live(cin * s * s + cout * out * out + max(width, cout) * out * out)
            s, cin = out, cout
    w.params += cin * arch.classes + arch.classes
    w.macs += cin * arch.classes
    w.gemm(1, cin, arch.classes)


def _divisible(v: float, d: int = 8) -> int:
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


#: EfficientNet-B0's MBConv stages: (expand, kernel, stride, in, out, layers).
_EFFNET_B0 = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1))


def _efficientnet(arch: ImageArch, side: int, w: Walk) -> None:
    wm, dm = arch.width_mult, arch.depth_mult
    stem = _divisible(32 * wm)
    s = _conv(w, 3, stem, 3, side, 2)
    _bn(w, stem)
    w.ops += 3 + 7  # stem: conv, bn, SiLU; head: conv, bn, SiLU, pool, flatten, dropout, fc
    w.save("c", 3 * side * side)
    w.save("a", 3 * stem * s * s)  # conv out (BN), BN out (SiLU), SiLU out (next conv)
    cin = stem
    for expand, k, stride, _, c_out, layers in _EFFNET_B0:
        cout = _divisible(c_out * wm)
        for i in range(math.ceil(layers * dm)):
            st = stride if i == 0 else 1
            mid = _divisible(cin * expand)
            # (conv, bn, SiLU) expand and depthwise; squeeze-excitation: pool, conv, SiLU,
            # conv, sigmoid, mul; projection conv, bn; residual: stochastic depth (bernoulli,
            # div, mul in training) and add
            w.ops += (3 if expand != 1 else 0) + 3 + 6 + 2 + \
                (4 if st == 1 and cin == cout else 0)
            if expand != 1:
                _conv(w, cin, mid, 1, s)
                _bn(w, mid)
                w.save("a", 3 * mid * s * s)
            out = _conv(w, mid, mid, k, s, st, groups=mid)
            _bn(w, mid)
            w.save("a", 3 * mid * out * out)
            sq = max(1, cin // 4)  # squeeze-and-excitation
            w.params += mid * sq + sq + sq * mid + mid
            w.macs += 2 * mid * sq
            w.small_convs += 2
            w.save("a", mid * out * out)  # the SE product's input
            _conv(w, mid, cout, 1, out)
            _bn(w, cout)
            w.save("a", cout * out * out)  # projection output (BN)
            w.live(cin * s * s + 2 * mid * out * out + cout * out * out)
            s, cin = out, cout
    last = 4 * cin
    _conv(w, cin, last, 1, s)
    _bn(w, last)
    w.save("a", 3 * last * s * s)
    w.params += last * arch.classes + arch.classes
    w.macs += last * arch.classes
    w.gemm(1, last, arch.classes)


def _convnext(arch: ImageArch, side: int, w: Walk) -> None:
    d0 = arch.widths[0]
    s = _conv(w, 3, d0, 4, side, 4, bias=True)
    w.ops += 4 + 6  # stem: conv, LayerNorm2d (permute, LN, permute); head: pool, LN2d, flatten, fc
    w.params += 2 * d0
    w.save("c", 3 * side * side)
    w.save("f", d0 * s * s)  # stem LayerNorm input (fp32)
    cin = d0
    for stage, (n, d) in enumerate(zip(arch.depths, arch.widths, strict=True)):
        if stage > 0:  # LayerNorm2d + 2x2 stride-2 conv
            w.params += 2 * cin
            w.save("f", cin * s * s)
            w.save("c", cin * s * s)
            s = _conv(w, cin, d, 2, s, 2, bias=True)
            w.ops += 4
        for _ in range(n):
            e = d * s * s
            _conv(w, d, d, 7, s, groups=d, bias=True)
            w.params += 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d) + d  # LN, MLP, scale
            w.macs += 8 * d * d * s * s
            w.layers += 2
            # CNBlock: dwconv, permute, LN, Linear, GELU, Linear, permute, layer scale,
            # stochastic depth (3 in training), add
            w.ops += 12
            w.gemm(s * s, d, 4 * d)
            w.gemm(s * s, 4 * d, d)
            # dwconv input (bf16 copy of the fp32 residual), LN input (fp32), LN output cast for
            # fc1, fc1 output (GELU), GELU output (fc2), fc2 output (layer scale), drop-path
            w.save("c", e)
            w.save("f", e)
            w.save("c", e)
            w.save("a", 4 * e + 4 * e + e)
            w.live(2 * e + 4 * e + e)
        cin = d
    w.params += 2 * cin + cin * arch.classes + arch.classes
    w.macs += cin * arch.classes
    w.gemm(1, cin, arch.classes)


def _vit(arch: ImageArch, side: int, w: Walk) -> None:
    d, f = arch.widths[0], arch.mlp
    t = (side // arch.patch) ** 2 + 1
    _conv(w, 3, d, arch.patch, side, arch.patch, bias=True)
    # patchify: conv, reshape, permute, class token expand and cat, positions add, dropout;
    # the final LayerNorm, the class token's slice and the head
    w.ops += 7 + 3
    w.params += d + t * d  # class token, positions
    w.save("c", 3 * side * side)
    for _ in range(arch.depths[0]):
        e = t * d
        w.params += 2 * d + 3 * d * d + 3 * d + d * d + d + 2 * d + d * f + f + f * d + d
        w.macs += t * (4 * d * d + 2 * d * f) + 2 * t * t * d
        # LN1 input (fp32 residual), its output cast for the QKV projection, q/k/v copies
        # and the attention output, LN2 input, its cast, fc1 output (GELU), GELU output (fc2)
        w.save("f", 2 * e)
        w.save("c", 2 * e)
        w.save("a", 4 * e + 2 * t * f)
        w.save("f", t * arch.heads / d)  # log-sum-exp per head, per element of d
        w.live(2 * e + 3 * e + t * f)
        w.largest = max(w.largest, t * f)
        w.layers += 4
        # LN, attention, dropout, add, LN, Linear, GELU, dropout, Linear, dropout, add; and
        # nn.MultiheadAttention's functional path: batch-first transposes, in-projection
        # Linear, the q/k/v split (unflatten, transpose, contiguous copy), the reshapes for
        # SDPA, SDPA, the output's permute and copy, out-projection Linear
        w.ops += 10 + 13
        for k, n in ((d, 3 * d), (d, d), (d, f), (f, d)):
            w.gemm(t, k, n)
        w.attention.append((t, arch.heads, d // arch.heads))
    w.params += 2 * d + d * arch.classes + arch.classes
    w.macs += d * arch.classes
    w.gemm(1, d, arch.classes)


_WALKERS = {"resnet": _resnet, "efficientnet": _efficientnet, "convnext": _convnext,
            "vit": _vit}


def walk(arch: ImageArch, side: int) -> Walk:
    """Walk ``arch`` for one image of ``side`` pixels."""
    w = Walk()
    _WALKERS[arch.family](arch, side, w)
    return w


def _resnet_arch(name: str, depths: tuple[int, ...], bottleneck: bool) -> ImageArch:
    return ImageArch(name, "resnet", depths, (64, 128, 256, 512), bottleneck)


#: The torchvision architectures (``torchvision.models.<name>``) the estimator walks.
ARCHS: dict[str, ImageArch] = {
    "resnet18": _resnet_arch("resnet18", (2, 2, 2, 2), False),
    "resnet34": _resnet_arch("resnet34", (3, 4, 6, 3), False),
    "resnet50": _resnet_arch("resnet50", (3, 4, 6, 3), True),
    "resnet101": _resnet_arch("resnet101", (3, 4, 23, 3), True),
    "resnet152": _resnet_arch("resnet152", (3, 8, 36, 3), True),
    **{f"efficientnet_b{i}": ImageArch(f"efficientnet_b{i}", "efficientnet", width_mult=wm,
                                       depth_mult=dm, default_image=px)
       for i, (wm, dm, px) in enumerate(((1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 288),
                                         (1.2, 1.4, 300), (1.4, 1.8, 380), (1.6, 2.2, 456),
                                         (1.8, 2.6, 528), (2.0, 3.1, 600)))},
    "convnext_tiny": ImageArch("convnext_tiny", "convnext", (3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ImageArch("convnext_small", "convnext", (3, 3, 27, 3),
                                (96, 192, 384, 768)),
    "convnext_base": ImageArch("convnext_base", "convnext", (3, 3, 27, 3),
                               (128, 256, 512, 1024)),
    "convnext_large": ImageArch("convnext_large", "convnext", (3, 3, 27, 3),
                                (192, 384, 768, 1536)),
    "vit_b_16": ImageArch("vit_b_16", "vit", (12,), (768,), patch=16, heads=12, mlp=3072),
    "vit_b_32": ImageArch("vit_b_32", "vit", (12,), (768,), patch=32, heads=12, mlp=3072),
    "vit_l_16": ImageArch("vit_l_16", "vit", (24,), (1024,), patch=16, heads=16, mlp=4096),
    "vit_h_14": ImageArch("vit_h_14", "vit", (32,), (1280,), patch=14, heads=16, mlp=5120),
}
