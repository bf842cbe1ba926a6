"""Memory of `to_hf`: peak RSS above the interpreter's baseline, as a fraction of the weights' size.

A synthetic T5X checkpoint (legacy layout, written by `to_t5x` from random weights) is converted in a
fresh interpreter; the baseline is the same interpreter with the same imports that opens the checkpoint
and stops. Two models that differ only in depth (the larger has twice the layers) show whether memory
follows the model (a converter holding the weights: >= 1 MB more per MB of weights) or stays flat
(streaming: one block of one tensor at a time, plus a fixed cost for transformers' tokenizer and config).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_TRIAL = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from multilingual_t0.convert.t5x_checkpoint import T5XCheckpoint
from multilingual_t0.convert import to_hf
import numpy, tensorstore, torch
from transformers import GenerationConfig, MT5Config, T5Tokenizer  # what to_hf imports, in both modes
ckpt = T5XCheckpoint(sys.argv[2])
if sys.argv[3] == "convert":
    to_hf(sys.argv[2], sys.argv[4], vocab=sys.argv[5], block_bytes=int(sys.argv[6]))
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's size at fork.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"peak_rss_mb": int(hwm) / 1024}))
"""


def _synthetic_checkpoint(work: str, layers: int, vocab_size: int, emb_dim: int) -> tuple:
    import numpy as np
    from transformers import MT5Config

    sys.path.insert(0, REPO)
    from multilingual_t0.convert import safetensors_stream, to_t5x
    from multilingual_t0.convert.architecture import Architecture
    from multilingual_t0.convert.names import parameter_names

    arch = Architecture(vocab_size=vocab_size, emb_dim=emb_dim, num_heads=8, num_encoder_layers=layers,
                        num_decoder_layers=layers, head_dim=emb_dim // 8, mlp_dim=4 * emb_dim)
    hf = os.path.join(work, "hf")
    os.makedirs(hf)
    MT5Config(**arch.hf_config()).save_pretrained(hf)
    rng = np.random.default_rng(0)
    shapes = {}
    for p in parameter_names(arch):
        t5x_shape = {"token_embedder/embedding": (vocab_size, emb_dim),
                     "decoder/logits_dense/kernel": (emb_dim, vocab_size)}.get(p.t5x)
        if t5x_shape is None:
            t5x_shape = _shape(p.t5x, arch)
        shapes[p.hf] = tuple(reversed(t5x_shape)) if p.transpose else t5x_shape
    tensors = [(name, shape, "float32") for name, shape in shapes.items()]
    nbytes = safetensors_stream.write(os.path.join(hf, "model.safetensors"), tensors,
                                      lambda name: [rng.standard_normal(shapes[name], np.float32)])
    ckpt = to_t5x(hf, os.path.join(work, "t5x"), step=1)["checkpoint"]
    with open(os.path.join(work, "t5x", "config.gin"), "w") as f:  # as T5X writes it to MODEL_DIR
        f.writelines(f"network.T5Config.{k} = {v!r}\n" for k, v in vars(arch).items())
    return ckpt, nbytes


def _shape(name: str, arch) -> tuple:
    inner = arch.num_heads * arch.head_dim
    if name.endswith("rel_embedding"):
        return (arch.num_heads, 32)
    if name.endswith("scale"):
        return (arch.emb_dim,)
    if "/mlp/wo/" in name:
        return (arch.mlp_dim, arch.emb_dim)
    if "/mlp/" in name:
        return (arch.emb_dim, arch.mlp_dim)
    if name.endswith("out/kernel"):
        return (inner, arch.emb_dim)
    return (arch.emb_dim, inner)


def _peak(ckpt: str, mode: str, out: str, vocab: str, block_bytes: int) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", _TRIAL, REPO, ckpt, mode, out, vocab, str(block_bytes)],
                            env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def run(layers: int = 4, vocab_size: int = 32768, emb_dim: int = 512, block_bytes: int = 16 << 20) -> dict:
    sys.path.insert(0, REPO)
    from multilingual_t0.pipeline.sample_vocab import train_vocab

    runs = {}
    for label, depth in (("shallow", layers), ("deep", 2 * layers)):
        work = tempfile.mkdtemp(prefix=f"mt0_bench_convert_{label}_")
        vocab = train_vocab(os.path.join(work, "spm.model"))
        ckpt, nbytes = _synthetic_checkpoint(work, depth, vocab_size, emb_dim)
        base = _peak(ckpt, "open", "", vocab, block_bytes)
        peak = _peak(ckpt, "convert", os.path.join(work, "out"), vocab, block_bytes)
        runs[label] = {"layers": depth, "weights_mb": nbytes / 2**20, "baseline_rss_mb": base,
                       "peak_rss_mb": peak, "extra_mb": peak - base, "extra_over_weights": (peak - base) / (nbytes / 2**20)}
    shallow, deep = runs["shallow"], runs["deep"]
    # Memory per MB of weights added: ~0 when tensors stream, ~1 or more when the converter holds them.
    marginal = (deep["extra_mb"] - shallow["extra_mb"]) / (deep["weights_mb"] - shallow["weights_mb"])
    return {
        "name": "convert memory", "runs": runs, "marginal_mb_per_weight_mb": marginal,
        "meets_target": marginal < 0.25,
        "summary": (f"to_hf peak RSS above baseline: {shallow['extra_mb']:.0f} MB for {shallow['weights_mb']:.0f} MB "
                    f"of weights, {deep['extra_mb']:.0f} MB for {deep['weights_mb']:.0f} MB: "
                    f"{marginal:.2f} MB more per MB of weights (blocks of {block_bytes >> 20} MB)"),
        "target": "memory does not follow the weights: < 0.25 MB more per MB of weights (holding them: >= 1)",
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
