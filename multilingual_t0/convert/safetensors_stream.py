"""Writes and reads the safetensors format one tensor at a time.

`safetensors.numpy.save_file` needs every tensor in memory at once; an mT5-XXL is 13B parameters.
The format is an 8-byte little-endian header length, a JSON header (dtype, shape, byte offsets per
tensor) and the raw little-endian bytes, so the header can be written from shapes alone and each
tensor's bytes appended as it is produced: memory is one tensor (or one block of rows) at a time.
"""

from __future__ import annotations

import json
import struct
from typing import Callable, Dict, Iterable, Sequence, Tuple

import numpy as np

# numpy dtype name -> safetensors dtype code.
DTYPES = {"float32": "F32", "bfloat16": "BF16", "float16": "F16", "int32": "I32", "int64": "I64"}


def np_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def write(path: str, tensors: Sequence[Tuple[str, Tuple[int, ...], str]],
          blocks: Callable[[str], Iterable[np.ndarray]], metadata: Dict[str, str] = None) -> int:
    """Writes `tensors` [(name, shape, dtype name)] whose data `blocks(name)` yields in row-major order.

    Returns the number of bytes written. Each block is cast to the tensor's dtype before writing.
    """
    header, offset = {}, 0
    for name, shape, dtype in tensors:
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r} cannot be written to safetensors; use one of {list(DTYPES)}")
        size = int(np.prod(shape, dtype=np.int64)) * np_dtype(dtype).itemsize
        header[name] = {"dtype": DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for name, shape, dtype in tensors:
            written, want = 0, header[name]["data_offsets"][1] - header[name]["data_offsets"][0]
            for block in blocks(name):
                data = np.ascontiguousarray(block, dtype=np_dtype(dtype))
                f.write(memoryview(data.reshape(-1).view(np.uint8)))
                written += data.nbytes
            if written != want:
                raise ValueError(f"{name}: wrote {written} bytes, expected {want} for shape {shape}")
    return 8 + len(encoded) + offset
