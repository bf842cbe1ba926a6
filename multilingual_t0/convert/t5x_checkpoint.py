"""Reads a T5X checkpoint's parameters without T5X: both layouts T5X writes.

* Legacy (`train.use_orbax=False`, and most released T5X checkpoints): `checkpoint_N/checkpoint` is a
  msgpack tree (flax's serialization) whose leaves are either small arrays inline or tensorstore
  specs of zarr arrays stored beside it (`target.encoder.layers_0...`).
* Orbax (current T5X's default): `checkpoint_N/state/` holds `_METADATA` (the tree) and the arrays
  as zarr (or zarr3, per `_METADATA`) inside an OCDBT database (`manifest.ocdbt`), or as plain
  zarr directories when OCDBT is off.

Arrays are opened lazily and read one at a time (`read`), so a caller streaming them holds one
parameter at a time. Only the model's parameters (`target/...`) are read; optimizer state is ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from multilingual_t0.convert import storage

LEGACY, ORBAX = "legacy msgpack + tensorstore", "orbax"
_STEP_DIR = re.compile(r"^checkpoint_(\d+)$")


class CheckpointNotFoundError(FileNotFoundError):
    """No T5X checkpoint at the path given (names the path and what was looked for)."""


def _layout(step_dir: str) -> Optional[str]:
    if storage.exists(storage.join(step_dir, "checkpoint")):
        return LEGACY
    if storage.exists(storage.join(step_dir, "state", "_METADATA")):
        return ORBAX
    return None


def resolve(path: str) -> Tuple[str, str]:
    """(checkpoint_N directory, layout) for a MODEL_DIR (latest step), a checkpoint_N dir, or its files."""
    path = path.rstrip("/")
    if path.endswith("/checkpoint") or path.endswith("/state"):
        path = path.rsplit("/", 1)[0]
    if not storage.exists(path):
        raise CheckpointNotFoundError(
            f"No T5X checkpoint at {path!r}: the path does not exist. Give a T5X MODEL_DIR (its latest "
            "checkpoint_N is used) or one checkpoint_N directory.")
    layout = _layout(path)
    if layout:
        return path, layout
    steps = sorted((int(m.group(1)), name) for name in storage.listdir(path)
                   for m in [_STEP_DIR.match(name)] if m)
    for _, name in reversed(steps):
        step_dir = storage.join(path, name)
        layout = _layout(step_dir)
        if layout:
            return step_dir, layout
    raise CheckpointNotFoundError(
        f"No T5X checkpoint in {path!r}: expected a checkpoint_N directory holding `checkpoint` "
        "(msgpack, legacy layout) or `state/_METADATA` (Orbax layout)"
        + (f"; found {', '.join(n for _, n in steps)} without either (an unfinished save?)" if steps else "")
        + ". Point at the MODEL_DIR of a T5X run or at one of its checkpoint_N directories.")


# --- legacy: flax msgpack -------------------------------------------------------------------------
# flax.serialization encodes numpy arrays as msgpack ExtType 1 holding (shape, dtype name, bytes);
# 2 and 3 are numpy scalars and complex numbers (not used by parameters).
_EXT_NDARRAY, _EXT_NPSCALAR = 1, 3


def _ext_hook(code: int, data: bytes):
    import msgpack

    if code == _EXT_NDARRAY:
        shape, dtype, buffer = msgpack.unpackb(data, raw=False)
        return np.frombuffer(buffer, dtype=_np_dtype(dtype)).reshape(shape)
    if code == _EXT_NPSCALAR:
        dtype, buffer = msgpack.unpackb(data, raw=False)
        return np.frombuffer(buffer, dtype=_np_dtype(dtype))[0]
    return msgpack.ExtType(code, data)


def _np_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _flatten(tree: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    is_spec = isinstance(tree, dict) and {"driver", "kvstore"} <= set(tree)
    if isinstance(tree, dict) and not is_spec:
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}/{key}" if prefix else str(key))
    else:
        yield prefix, tree


class _Leaf:
    """One parameter: an inline array or a tensorstore spec, read on demand."""

    def __init__(self, value: Any = None, spec: Optional[Dict[str, Any]] = None):
        self.value, self.spec = value, spec

    def _store(self):
        import tensorstore as ts

        return ts.open(self.spec, open=True, read=True).result()

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(np.shape(self.value)) if self.spec is None else tuple(self._store().shape)

    def read(self) -> np.ndarray:
        if self.spec is None:
            return np.asarray(self.value)
        return self._store().read().result()


def _legacy_params(step_dir: str) -> Dict[str, _Leaf]:
    import msgpack

    tree = msgpack.unpackb(storage.read_bytes(storage.join(step_dir, "checkpoint")),
                           ext_hook=_ext_hook, raw=False, strict_map_key=False)
    state = tree.get("optimizer", tree) if tree.get("version", 0) else tree
    target = state.get("target")
    if not isinstance(target, dict):
        raise ValueError(f"{storage.join(step_dir, 'checkpoint')} holds no `target` parameters "
                         f"(top-level keys: {sorted(state)}); is it a T5X train-state checkpoint?")
    params = {}
    for name, leaf in _flatten(target):
        if isinstance(leaf, dict):
            spec = dict(leaf)
            rel = spec["kvstore"].get("path") or spec.get("path")
            # T5X stores paths relative to the step directory (and a dummy bucket on GCS).
            spec.pop("path", None)
            spec["kvstore"] = storage.kvstore(storage.join(step_dir, rel))
            params[name] = _Leaf(spec=spec)
        else:
            params[name] = _Leaf(value=leaf)
    return params


# --- orbax ----------------------------------------------------------------------------------------
def _orbax_params(step_dir: str) -> Dict[str, _Leaf]:
    state_dir = storage.join(step_dir, "state")
    meta = json.loads(storage.read_bytes(storage.join(state_dir, "_METADATA")))
    driver = "zarr3" if meta.get("use_zarr3") else "zarr"
    if meta.get("use_ocdbt") or storage.exists(storage.join(state_dir, "manifest.ocdbt")):
        base = storage.kvstore(state_dir)
        kv = lambda name: {"driver": "ocdbt", "base": base, "path": name}  # noqa: E731
    else:
        kv = lambda name: storage.kvstore(storage.join(state_dir, name))  # noqa: E731
    params = {}
    for entry in meta["tree_metadata"].values():
        keys = [k["key"] for k in entry["key_metadata"]]
        if not keys or keys[0] != "target":
            continue
        value = entry.get("value_metadata", {})
        if value.get("value_type") not in ("jax.Array", "np.ndarray"):
            raise ValueError(f"{state_dir}: parameter {'/'.join(keys)} is stored as "
                             f"{value.get('value_type')!r}, not an array")
        params["/".join(keys[1:])] = _Leaf(spec={"driver": driver, "kvstore": kv(".".join(keys))})
    if not params:
        raise ValueError(f"{state_dir}/_METADATA lists no `target` parameters; is it a T5X checkpoint?")
    return params


class T5XCheckpoint:
    """The parameters of one T5X checkpoint, by '/'-joined name under `target` (lazy)."""

    def __init__(self, path: str):
        self.step_dir, self.layout = resolve(path)
        self.params = (_legacy_params if self.layout == LEGACY else _orbax_params)(self.step_dir)

    def names(self) -> List[str]:
        return sorted(self.params)

    def shape(self, name: str) -> Tuple[int, ...]:
        return self.params[name].shape

    def read(self, name: str) -> np.ndarray:
        if name not in self.params:
            raise KeyError(f"{self.step_dir} ({self.layout}) has no parameter target/{name}; "
                           f"it has {len(self.params)}, e.g. {', '.join(self.names()[:5])}")
        return self.params[name].read()
