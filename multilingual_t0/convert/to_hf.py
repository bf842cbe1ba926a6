"""T5X checkpoint (mT5/mT0 architecture) -> a transformers model directory, without T5X.

Writes config.json (MT5Config), generation_config.json, model.safetensors (float32 or bfloat16) and the
SentencePiece vocabulary with tokenizer files, which `AutoModelForSeq2SeqLM.from_pretrained` and
`AutoTokenizer.from_pretrained` load. Tensors stream from the checkpoint to the file in blocks of rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Iterator, Optional

import numpy as np

from multilingual_t0.convert import architecture, safetensors_stream, storage
from multilingual_t0.convert.names import ParamName, parameter_names
from multilingual_t0.convert.t5x_checkpoint import T5XCheckpoint
from multilingual_t0.pipeline import vocab as vocab_setting

DTYPES = ("float32", "bfloat16")
# Rows of output written per read: bounds memory to about this many bytes per tensor block.
BLOCK_BYTES = 256 << 20


def _blocks(ckpt: T5XCheckpoint, param: ParamName, block_bytes: int) -> Iterator[np.ndarray]:
    leaf = ckpt.params[param.t5x]
    if leaf.spec is None:  # inline (small) array
        value = np.asarray(leaf.value)
        yield value.T if param.transpose else value
        return
    store = leaf._store()
    view = store.T if param.transpose else store
    shape = view.shape
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * store.dtype.numpy_dtype.itemsize)
    step = max(1, block_bytes // row_bytes)
    for start in range(0, shape[0], step):
        yield view[start:min(start + step, shape[0])].read().result()


def _check_shapes(ckpt: T5XCheckpoint, arch: architecture.Architecture, source: str) -> None:
    emb = ckpt.shape("token_embedder/embedding") if "token_embedder/embedding" in ckpt.params else None
    want = (arch.vocab_size, arch.emb_dim)
    if emb != want:
        raise ValueError(f"{ckpt.step_dir}: token_embedder/embedding has shape {emb}, but the architecture "
                         f"from {source} says {want} (vocab_size, emb_dim). Pass the --model-size the run "
                         "used, or convert with the run's own config.gin.")
    mapped = {p.t5x for p in parameter_names(arch)}
    extra = sorted(set(ckpt.params) - mapped)
    missing = sorted(mapped - set(ckpt.params))
    if extra or missing:
        raise ValueError(f"{ckpt.step_dir} does not match T5X's t5.1.1/mT5 network with {source}'s shape: "
                         f"unexpected {extra[:5]}, missing {missing[:5]}")


def load_architecture(ckpt: T5XCheckpoint, model_size: Optional[str]) -> tuple:
    """(Architecture, where it came from): --model-size, else the run's config.gin."""
    if model_size:
        arch, source = architecture.from_size(model_size), f"--model-size {model_size}"
    else:
        gin_path = architecture.find_config_gin(ckpt.step_dir)
        if gin_path is None:
            raise FileNotFoundError(
                f"No config.gin in {ckpt.step_dir} or its parent (T5X writes it to MODEL_DIR): "
                f"pass --model-size ({', '.join(architecture.known_sizes())}) or copy the run's config.gin there.")
        arch, source = architecture.from_gin(gin_path), gin_path
    # The checkpoint has logits_dense only when the head is untied (mT5, mT0). A tied T5X head divides
    # the logits by sqrt(emb_dim); transformers' MT5 does not, so it would silently give other logits.
    if "decoder/logits_dense/kernel" not in ckpt.params:
        raise ValueError(f"{ckpt.step_dir} has no decoder/logits_dense/kernel: a tied output head "
                         "(logits_via_embedding=True), which this converter does not support (mT5 and mT0 "
                         "are untied; transformers' MT5 would not rescale tied logits as T5X does)")
    return dataclasses.replace(arch, logits_via_embedding=False), source


def write_config(config, out_dir: str, tied: bool) -> None:
    """config.json as transformers writes it, with `tie_word_embeddings` saying whether the output head is the
    input embedding (never, here: mT5 and mT0 are untied).

    transformers 5's MT5Config sets the flag to true whatever it is given (it ties the encoder's and decoder's
    input embeddings through it, and leaves lm_head untied at load when the file holds a head of its own), so
    its config.json would say true. transformers 4 obeys the file: true would tie lm_head to the input embedding,
    dropping the converted head, and scale the decoder output by d_model**-0.5 before it. Written false, both
    load the head as converted and unscaled (docs/conversion.md).
    """
    config.save_pretrained(out_dir)
    path = os.path.join(out_dir, "config.json")
    with open(path, encoding="utf-8") as f:
        fields = json.load(f)
    fields["tie_word_embeddings"] = tied
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fields, f, indent=2, sort_keys=True)
        f.write("\n")


def write_tokenizer(vocab_path: str, out_dir: str) -> None:
    """spiece.model plus transformers' tokenizer files (T5 conventions: pad 0, eos 1, unk 2)."""
    try:
        model = storage.read_bytes(vocab_path)
    except (FileNotFoundError, OSError) as err:
        raise FileNotFoundError(
            f"Cannot read the SentencePiece vocabulary {vocab_path!r}: set MT0_VOCAB (or --vocab) to the "
            "model the run trained with (mT5's is gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model)"
        ) from err
    spiece = os.path.join(out_dir, "spiece.model")
    with open(spiece, "wb") as f:
        f.write(model)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 0}, f)
    from transformers import T5Tokenizer

    # from_pretrained converts spiece.model (the constructor alone would not); mT5's SentencePiece
    # model already holds its sentinels (T5X: extra_ids=0), so none are added.
    T5Tokenizer.from_pretrained(out_dir, extra_ids=0).save_pretrained(out_dir)
    if _byte_fallback(model):
        _enable_byte_fallback(os.path.join(out_dir, "tokenizer.json"))
        # T5Tokenizer rebuilds its model without byte fallback when loaded; the generic class loads
        # tokenizer.json as written (same ids and text as SentencePiece, checked by the tests).
        config_path = os.path.join(out_dir, "tokenizer_config.json")
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)


def _byte_fallback(model: bytes) -> bool:
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model)
    return proto.trainer_spec.byte_fallback


def _enable_byte_fallback(tokenizer_json: str) -> None:
    """transformers' T5 converter drops SentencePiece's byte fallback (text outside the pieces would
    become <unk>); mT5's vocabulary uses it, so turn it back on: <0xNN> pieces in, bytes out."""
    with open(tokenizer_json, encoding="utf-8") as f:
        spec = json.load(f)
    spec["model"]["byte_fallback"] = True
    spec["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, spec["decoder"]]}
    with open(tokenizer_json, "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)


def to_hf(checkpoint_dir: str, out_dir: str, model_size: Optional[str] = None, dtype: str = "float32",
          vocab: Optional[str] = None, block_bytes: int = BLOCK_BYTES) -> Dict[str, object]:
    """Converts a T5X checkpoint (MODEL_DIR or checkpoint_N; legacy or Orbax) to `out_dir`."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not supported; use one of {', '.join(DTYPES)}")
    ckpt = T5XCheckpoint(checkpoint_dir)
    arch, source = load_architecture(ckpt, model_size)
    _check_shapes(ckpt, arch, source)
    vocab_path = vocab or vocab_setting.vocabulary_path()
    os.makedirs(out_dir, exist_ok=True)
    from transformers import GenerationConfig, MT5Config

    config = MT5Config(**arch.hf_config(), architectures=["MT5ForConditionalGeneration"],
                       dtype=dtype)
    write_config(config, out_dir, tied=arch.logits_via_embedding)
    GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0).save_pretrained(out_dir)
    params = {p.hf: p for p in parameter_names(arch)}
    tensors = []
    for p in params.values():
        shape = ckpt.shape(p.t5x)
        tensors.append((p.hf, tuple(reversed(shape)) if p.transpose else shape, dtype))
    size = safetensors_stream.write(
        os.path.join(out_dir, "model.safetensors"), tensors,
        lambda name: _blocks(ckpt, params[name], block_bytes), metadata={"format": "pt"})
    write_tokenizer(vocab_path, out_dir)
    info = {"checkpoint": ckpt.step_dir, "layout": ckpt.layout, "architecture_from": source,
            "parameters": sum(int(np.prod(s)) for _, s, _ in tensors), "bytes": size,
            "dtype": dtype, "tied_head": arch.logits_via_embedding, "vocabulary": vocab_path,
            "out_dir": out_dir}
    with open(os.path.join(out_dir, "conversion.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info
