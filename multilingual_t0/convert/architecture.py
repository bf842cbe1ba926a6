"""The model's shape: from the run's `config.gin` (T5X writes it to MODEL_DIR) or a named mT5 size.

The mT5 sizes are a table, `data/mt5_sizes.csv` (source: T5X's `t5x/examples/t5/mt5/<size>.gin`).
Only T5X's t5.1.1/mT5 network is supported: gated-GELU feed-forward, pre-norm RMS layer norm,
shared relative position buckets (32, max distance 128), untied or tied output head.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import os
import re
from typing import Any, Dict, Optional, Tuple

from multilingual_t0.convert import storage
from multilingual_t0.errors import UnknownNameError

SIZES_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "mt5_sizes.csv")
# T5X's network.py fixes these for every T5 1.1 / mT5 model; HF's MT5Config takes them as settings.
RELATIVE_BUCKETS, RELATIVE_MAX_DISTANCE, LAYER_NORM_EPS = 32, 128, 1e-6


@dataclasses.dataclass(frozen=True)
class Architecture:
    vocab_size: int
    emb_dim: int
    num_heads: int
    num_encoder_layers: int
    num_decoder_layers: int
    head_dim: int
    mlp_dim: int
    mlp_activations: Tuple[str, ...] = ("gelu", "linear")
    logits_via_embedding: bool = False
    dropout_rate: float = 0.1

    def hf_config(self) -> Dict[str, Any]:
        """`transformers.MT5Config` keyword arguments for this shape (T5 id conventions)."""
        if tuple(self.mlp_activations) not in (("gelu", "linear"), ("relu",)):
            raise ValueError(f"mlp_activations {self.mlp_activations!r} has no transformers equivalent; "
                             "supported: ('gelu', 'linear') (mT5, T5 1.1) and ('relu',) (original T5)")
        gated = len(self.mlp_activations) == 2
        return dict(
            vocab_size=self.vocab_size, d_model=self.emb_dim, d_kv=self.head_dim, d_ff=self.mlp_dim,
            num_layers=self.num_encoder_layers, num_decoder_layers=self.num_decoder_layers,
            num_heads=self.num_heads, relative_attention_num_buckets=RELATIVE_BUCKETS,
            relative_attention_max_distance=RELATIVE_MAX_DISTANCE, dropout_rate=self.dropout_rate,
            layer_norm_epsilon=LAYER_NORM_EPS, feed_forward_proj="gated-gelu" if gated else "relu",
            tie_word_embeddings=self.logits_via_embedding, is_encoder_decoder=True,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        )

    @classmethod
    def from_hf_config(cls, config) -> "Architecture":
        act = ("gelu", "linear") if getattr(config, "is_gated_act", False) else ("relu",)
        return cls(vocab_size=config.vocab_size, emb_dim=config.d_model, num_heads=config.num_heads,
                   num_encoder_layers=config.num_layers, num_decoder_layers=config.num_decoder_layers,
                   head_dim=config.d_kv, mlp_dim=config.d_ff, mlp_activations=act,
                   logits_via_embedding=bool(config.tie_word_embeddings), dropout_rate=config.dropout_rate)


def known_sizes() -> Dict[str, Architecture]:
    with open(SIZES_PATH, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {row["size"]: Architecture(**{k: int(v) for k, v in row.items() if k not in ("size", "source")})
            for row in rows}


def from_size(size: str) -> Architecture:
    sizes = known_sizes()
    if size not in sizes:
        err = UnknownNameError("model size", size, sizes)
        err.args = (f"{err} Known mT5 sizes: {', '.join(sizes)} (table {SIZES_PATH}); or omit "
                    "--model-size to read the run's config.gin.",)
        raise err
    return sizes[size]


_BLOCK = re.compile(r"^(?P<scope>[\w./]+):\s*$")
_BINDING = re.compile(r"^(?P<name>[\w./]+)\s*=\s*(?P<value>.+?)\s*$")
_T5_CONFIG = ("network.T5Config", "T5Config")


def _literal(text: str, macros: Dict[str, str]) -> Any:
    text = text.split("  #")[0].strip()
    if text.startswith("%"):
        text = macros.get(text[1:], text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_t5_config(gin_text: str) -> Dict[str, Any]:
    """`network.T5Config` bindings of a gin file, as T5X's operative config.gin writes them."""
    macros, raw, scope = {}, {}, None
    for line in gin_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indented = line[0].isspace()
        if not indented:
            scope = None
            block = _BLOCK.match(line)
            if block:
                scope = block.group("scope")
                continue
        binding = _BINDING.match(line.strip())
        if not binding:
            continue
        name, value = binding.group("name"), binding.group("value")
        if indented and scope:
            name = f"{scope}.{name}"
        elif "." not in name:
            macros[name] = value
            continue
        for prefix in _T5_CONFIG:
            if name.startswith(prefix + "."):
                raw[name[len(prefix) + 1:]] = value
    return {k: _literal(v, macros) for k, v in raw.items()}


def from_gin(path: str) -> Architecture:
    values = parse_t5_config(storage.read_bytes(path).decode("utf-8"))
    fields = {f.name for f in dataclasses.fields(Architecture)}
    required = [f.name for f in dataclasses.fields(Architecture)
                if f.default is dataclasses.MISSING]
    missing = [name for name in required if not isinstance(values.get(name), int)]
    if missing:
        raise ValueError(f"{path} binds no network.T5Config {', '.join(missing)}: pass --model-size "
                         f"({', '.join(known_sizes())}) or the run's config.gin")
    kwargs = {k: v for k, v in values.items() if k in fields}
    if "mlp_activations" in kwargs:
        kwargs["mlp_activations"] = tuple(kwargs["mlp_activations"])
    if not isinstance(kwargs.get("dropout_rate", 0.1), (int, float)):
        kwargs.pop("dropout_rate")
    return Architecture(**kwargs)


def find_config_gin(checkpoint_dir: str) -> Optional[str]:
    """config.gin in the checkpoint directory or its parent (T5X writes it to MODEL_DIR)."""
    parent = os.path.dirname(checkpoint_dir.rstrip("/"))
    for directory in (checkpoint_dir, parent):
        if directory:
            path = storage.join(directory, "config.gin")
            if storage.exists(path):
                return path
    return None
