"""Checkpoint conversion between T5X (mT5/mT0 network) and Hugging Face transformers, without T5X.

    from multilingual_t0.convert import to_hf, to_t5x
    to_hf("gs://bucket/mt0/xxl", "mt0-xxl-hf")          # MODEL_DIR or checkpoint_N; legacy or Orbax
    to_t5x("bigscience/mt0-base", "gs://bucket/mt0-base-t5x")
"""

from multilingual_t0.convert.to_hf import to_hf
from multilingual_t0.convert.to_t5x import to_t5x

__all__ = ["to_hf", "to_t5x"]
