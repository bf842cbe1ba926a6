"""Which T5X parameter is which transformers (MT5) weight, and how its axes map.

T5X (t5x/examples/t5/network.py) keeps kernels as [in, out]; torch's Linear keeps [out, in], so
every kernel is transposed. T5X's relative position table is [heads, buckets]; HF's Embedding is
[buckets, heads] and lives in the first block only. T5X folds attention's 1/sqrt(d) into the query
initialisation and HF never scales, so no value changes: conversion is renaming and transposing.
"""

from __future__ import annotations

import dataclasses
from typing import List

from multilingual_t0.convert.architecture import Architecture


@dataclasses.dataclass(frozen=True)
class ParamName:
    t5x: str  # '/'-joined path under the train state's `target`
    hf: str  # transformers state-dict key
    transpose: bool  # 2-D arrays whose axes swap between the two


def _attention(t5x: str, hf: str) -> List[ParamName]:
    return [ParamName(f"{t5x}/{a}/kernel", f"{hf}.{b}.weight", True)
            for a, b in (("query", "q"), ("key", "k"), ("value", "v"), ("out", "o"))]


def _mlp(arch: Architecture, t5x: str, hf: str) -> List[ParamName]:
    gated = len(arch.mlp_activations) == 2
    inner = [("wi_0", "wi_0"), ("wi_1", "wi_1")] if gated else [("wi", "wi")]
    return [ParamName(f"{t5x}/{a}/kernel", f"{hf}.{b}.weight", True) for a, b in inner + [("wo", "wo")]]


def parameter_names(arch: Architecture) -> List[ParamName]:
    """Every parameter of the model, in a stable order (embedding, encoder, decoder, head)."""
    names = [ParamName("token_embedder/embedding", "shared.weight", False),
             ParamName("encoder/relpos_bias/rel_embedding",
                       "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", True)]
    for i in range(arch.num_encoder_layers):
        t, h = f"encoder/layers_{i}", f"encoder.block.{i}.layer"
        names.append(ParamName(f"{t}/pre_attention_layer_norm/scale", f"{h}.0.layer_norm.weight", False))
        names += _attention(f"{t}/attention", f"{h}.0.SelfAttention")
        names.append(ParamName(f"{t}/pre_mlp_layer_norm/scale", f"{h}.1.layer_norm.weight", False))
        names += _mlp(arch, f"{t}/mlp", f"{h}.1.DenseReluDense")
    names.append(ParamName("encoder/encoder_norm/scale", "encoder.final_layer_norm.weight", False))
    names.append(ParamName("decoder/relpos_bias/rel_embedding",
                           "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", True))
    for i in range(arch.num_decoder_layers):
        t, h = f"decoder/layers_{i}", f"decoder.block.{i}.layer"
        names.append(ParamName(f"{t}/pre_self_attention_layer_norm/scale", f"{h}.0.layer_norm.weight", False))
        names += _attention(f"{t}/self_attention", f"{h}.0.SelfAttention")
        names.append(ParamName(f"{t}/pre_cross_attention_layer_norm/scale", f"{h}.1.layer_norm.weight", False))
        names += _attention(f"{t}/encoder_decoder_attention", f"{h}.1.EncDecAttention")
        names.append(ParamName(f"{t}/pre_mlp_layer_norm/scale", f"{h}.2.layer_norm.weight", False))
        names += _mlp(arch, f"{t}/mlp", f"{h}.2.DenseReluDense")
    names.append(ParamName("decoder/decoder_norm/scale", "decoder.final_layer_norm.weight", False))
    if not arch.logits_via_embedding:
        names.append(ParamName("decoder/logits_dense/kernel", "lm_head.weight", True))
    return names
