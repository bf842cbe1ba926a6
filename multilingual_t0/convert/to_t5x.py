"""A transformers mT5/mT0 model -> a T5X checkpoint that T5X restores as INITIAL_CHECKPOINT_PATH.

Writes T5X's legacy layout (what T5X's released checkpoints use and every T5X version restores):
`checkpoint_<step>/checkpoint` (msgpack tree, flax's encoding) and one gzip-compressed zarr array per
parameter beside it, with the train state T5X's `train.py` expects for this package's model gins:
the parameters under `target`, the step, and Adafactor's (zero) initial state under `param_states`.
Tensors stream one at a time from the safetensors file(s) to tensorstore.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Iterator, Tuple

import numpy as np

from multilingual_t0.convert import storage
from multilingual_t0.convert.architecture import Architecture
from multilingual_t0.convert.names import parameter_names
from multilingual_t0.convert.safetensors_stream import np_dtype

# mT5 checkpoints are at step 1,000,000 and this package's run gins count TRAIN_STEPS from there.
DEFAULT_STEP = 1_000_000
# Adafactor (as T5X's mt5 gins configure it) factors a 2-D second moment when its second-largest
# dimension is at least this (T5X's `min_dim_size_to_factor` default).
ADAFACTOR_MIN_DIM_TO_FACTOR = 128
CHUNK_BYTES = 64 << 20  # zarr chunk target, as T5X's own checkpointer


class HFWeights:
    """Lazy tensors of a transformers model directory (safetensors, single or sharded)."""

    def __init__(self, model_dir: str):
        self.model_dir = model_dir
        index = os.path.join(model_dir, "model.safetensors.index.json")
        single = os.path.join(model_dir, "model.safetensors")
        if os.path.exists(index):
            with open(index, encoding="utf-8") as f:
                self.files = {k: os.path.join(model_dir, v) for k, v in json.load(f)["weight_map"].items()}
        elif os.path.exists(single):
            from safetensors import safe_open

            with safe_open(single, "np") as f:
                self.files = {k: single for k in f.keys()}
        else:
            found = sorted(os.listdir(model_dir))
            hint = (" It holds PyTorch .bin weights: load and save it once with transformers "
                    "(`AutoModelForSeq2SeqLM.from_pretrained(DIR).save_pretrained(DIR)`) to get safetensors."
                    if any(n.endswith(".bin") for n in found) else "")
            raise FileNotFoundError(f"No model.safetensors (or model.safetensors.index.json) in {model_dir!r}; "
                                    f"it holds {found[:10]}.{hint}")

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def read(self, name: str) -> np.ndarray:
        from safetensors import safe_open

        if name not in self.files:
            raise KeyError(f"{self.model_dir} has no weight {name!r}; is it an mT5/mT0 (T5 1.1) model?")
        with safe_open(self.files[name], "np") as f:
            try:
                return f.get_tensor(name)
            except TypeError:  # numpy has no bfloat16: read through torch
                pass
        with safe_open(self.files[name], "pt") as f:
            return f.get_tensor(name).float().numpy()


def resolve_model_dir(hf_dir_or_id: str) -> str:
    """A local directory as is; otherwise a Hub id downloaded (config, weights, vocabulary only)."""
    if os.path.isdir(hf_dir_or_id):
        return hf_dir_or_id
    if os.path.exists(hf_dir_or_id) or hf_dir_or_id.startswith(("/", ".", "gs://")) or hf_dir_or_id.count("/") != 1:
        raise FileNotFoundError(f"{hf_dir_or_id!r} is not a model directory (config.json + model.safetensors) "
                                "nor a Hub id like bigscience/mt0-base")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(hf_dir_or_id, allow_patterns=["*.json", "*.safetensors", "spiece.model"])
    except Exception as err:  # offline, unknown id, gated repo: one message naming the id
        raise FileNotFoundError(f"Cannot download {hf_dir_or_id!r} from the Hugging Face Hub "
                                f"({type(err).__name__}: {err}). Download it on a machine that reaches the Hub "
                                "(`huggingface-cli download ID --local-dir DIR`) and pass DIR.") from err


def read_architecture(model_dir: str) -> Architecture:
    path = os.path.join(model_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No config.json in {model_dir!r}: is it a transformers model directory?")
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    if config.model_type not in ("mt5", "t5"):
        raise ValueError(f"{path}: model_type {config.model_type!r} is not mt5/t5; only mT5/mT0-architecture "
                         "models convert to T5X's t5.1.1/mT5 network")
    return Architecture.from_hf_config(config)


def _adafactor_state(shape: Tuple[int, ...]) -> Dict[str, np.ndarray]:
    """Adafactor's initial (all-zero) state for one parameter, with the shapes T5X's Adafactor makes:
    factored second moments (v_row, v_col) when two dimensions are large enough, else a full v;
    no momentum (m) since the mT5 gins set none; (1,)-shaped placeholders for what is unused."""
    state = {k: np.zeros((1,), np.float32) for k in ("m", "v", "v_col", "v_row")}
    order = np.argsort(shape, kind="stable")
    if len(shape) >= 2 and shape[order[-2]] >= ADAFACTOR_MIN_DIM_TO_FACTOR:
        row_dim, col_dim = int(order[-2]), int(order[-1])
        state["v_row"] = np.zeros(np.delete(shape, col_dim), np.float32)
        state["v_col"] = np.zeros(np.delete(shape, row_dim), np.float32)
    else:
        state["v"] = np.zeros(shape, np.float32)
    return state


def _chunks(shape: Tuple[int, ...], itemsize: int) -> list:
    """Chunk shape of at most CHUNK_BYTES, halving the largest dimension (as T5X chooses)."""
    chunks = list(shape) or [1]
    while int(np.prod(chunks)) * itemsize > CHUNK_BYTES:
        i = int(np.argmax(chunks))
        chunks[i] = (chunks[i] + 1) // 2
    return chunks


def _write_array(step_dir: str, name: str, value: np.ndarray) -> Dict:
    """One zarr array under step_dir/<name> (T5X's spec: gzip, relative path); returns the spec."""
    import tensorstore as ts

    rel = name.replace("/", ".")
    dtype = "bfloat16" if str(value.dtype) == "bfloat16" else np.dtype(value.dtype).name
    metadata = {"compressor": {"id": "gzip"}, "shape": list(value.shape),
                "chunks": _chunks(value.shape, value.dtype.itemsize)}
    spec = {"driver": "zarr", "dtype": dtype, "kvstore": storage.kvstore(storage.join(step_dir, rel)),
            "metadata": metadata}
    store = ts.open(spec, create=True, delete_existing=True).result()
    store.write(value).result()
    # T5X keeps the path relative to the step directory and resolves it when restoring.
    return {"driver": "zarr", "dtype": dtype, "kvstore": {"driver": "file", "path": rel}, "metadata": metadata}


def _msgpack_tree(tree) -> bytes:
    import msgpack

    def default(obj):
        if isinstance(obj, np.ndarray):  # flax's ExtType 1: (shape, dtype name, raw bytes)
            payload = msgpack.packb((obj.shape, obj.dtype.name, obj.tobytes()), use_bin_type=True)
            return msgpack.ExtType(1, payload)
        if isinstance(obj, np.generic):  # flax's ExtType 3: numpy scalar (dtype name, raw bytes)
            return msgpack.ExtType(3, msgpack.packb((obj.dtype.name, obj.tobytes()), use_bin_type=True))
        raise TypeError(f"cannot encode {type(obj).__name__}")

    return msgpack.packb(tree, default=default, use_bin_type=True)


def _nest(flat: Dict[str, object]) -> Dict:
    tree: Dict = {}
    for path, value in flat.items():
        node = tree
        *parents, leaf = path.split("/")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return tree


def to_t5x(hf_dir_or_id: str, out_dir: str, step: int = DEFAULT_STEP, dtype: str = "float32") -> Dict:
    """Converts an mT5/mT0 transformers model to `out_dir/checkpoint_<step>`; returns a summary."""
    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"dtype {dtype!r} is not supported; use float32 or bfloat16")
    model_dir = resolve_model_dir(hf_dir_or_id)
    arch = read_architecture(model_dir)
    weights = HFWeights(model_dir)
    if "lm_head.weight" not in weights:
        raise ValueError(f"{model_dir} has no lm_head.weight (a tied output head, as the original T5): "
                         "mT5 and mT0 are untied; only untied models are supported")
    from dataclasses import replace

    arch = replace(arch, logits_via_embedding=False)
    step_dir = storage.join(out_dir, f"checkpoint_{step}")
    storage.makedirs(step_dir)
    target, param_states, count = {}, {}, 0
    for p in parameter_names(arch):
        value = weights.read(p.hf)
        value = value.T if p.transpose else value
        value = np.ascontiguousarray(value, dtype=np_dtype(dtype))
        target[p.t5x] = _write_array(step_dir, f"target/{p.t5x}", value)
        for key, zeros in _adafactor_state(value.shape).items():
            name = f"state/param_states/{p.t5x}/{key}"
            param_states[f"{p.t5x}/{key}"] = zeros if zeros.size == 1 else _write_array(step_dir, name, zeros)
        count += value.size
        del value
    tree = {"version": 3, "optimizer": {"target": _nest(target), "state": {
        "step": np.asarray(step, np.int32), "param_states": _nest(param_states)}}}
    storage.write_bytes(storage.join(step_dir, "checkpoint"), _msgpack_tree(tree))
    return {"checkpoint": step_dir, "step": step, "parameters": int(count), "dtype": dtype,
            "source": model_dir, "architecture": arch}


def iter_hf_params(model_dir: str) -> Iterator[Tuple[str, np.ndarray]]:
    """(T5X name, array in T5X's layout) for every parameter of a transformers model directory."""
    arch = read_architecture(model_dir)
    weights = HFWeights(model_dir)
    for p in parameter_names(arch):
        value = weights.read(p.hf)
        yield p.t5x, (value.T if p.transpose else value)
