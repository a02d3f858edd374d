"""Quantized weight formats every family reads: ggml's block layouts (GGUF files, llama.cpp and
city96's diffusion-model files alike) and what one weight costs in each.

Bits per weight come from ggml's block layouts (``ggml/src/ggml-common.h``: a Q4_K super-block
of 256 weights is 144 bytes, 4.5 bits; Q8_0 is 34 bytes per 32 weights, 8.5 bits ...); a file
type such as Q4_K_M names the type most tensors get (the language family's
:mod:`~rigready.assess.estimate.language.gguf` follows llama.cpp's per-tensor mix).
"""

from __future__ import annotations

#: ggml tensor types: (weights per block, bytes per block), from ggml-common.h.
BLOCKS: dict[str, tuple[int, int]] = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2),
    "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176),
    "Q6_K": (256, 210), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136), "MXFP4": (32, 17),
}

#: llama.cpp file types (``llama-quantize`` names) and the tensor type most tensors get.
FILE_TYPES: dict[str, str] = {
    "Q2_K": "Q2_K", "Q3_K_S": "Q3_K", "Q3_K_M": "Q3_K", "Q3_K_L": "Q3_K",
    "Q4_0": "Q4_0", "Q4_1": "Q4_1", "Q5_0": "Q5_0", "Q5_1": "Q5_1",
    "Q4_K_S": "Q4_K", "Q4_K_M": "Q4_K", "Q5_K_S": "Q5_K", "Q5_K_M": "Q5_K", "Q6_K": "Q6_K",
    "Q8_0": "Q8_0", "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS", "MXFP4_MOE": "MXFP4",
    "F16": "F16", "BF16": "BF16",
}


def bits_per_weight(ggml_type: str) -> float:
    """Bits one weight takes in a ggml type (block scales included)."""
    n, size = BLOCKS[ggml_type]
    return 8.0 * size / n


def file_type_bits(file_type: str) -> float:
    """Bits a weight of the main tensor type of a GGUF file type (``Q4_K_S`` -> 4.5)."""
    return bits_per_weight(FILE_TYPES[file_type])
