"""safetensors reader/writer written here (no external package).

File layout: an 8-byte little-endian unsigned header length N, then N bytes
of UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
"__metadata__": {str: str}}, then the data buffer. Offsets are relative to
the start of the buffer; tensors are little-endian, C-contiguous, stored in
order without gaps. The header is padded with spaces so that the buffer
starts at a multiple of 8 bytes.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from typing import Dict, Optional, Tuple

import numpy as np
import torch

_TORCH_TO_ST = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_ST_TO_TORCH = {v: k for k, v in _TORCH_TO_ST.items()}
_ST_TO_NP = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "BOOL": "?", "BF16": "<u2",
}
MAX_HEADER = 100 << 20


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        a = t.view(torch.int16).numpy().astype("<i2")
    else:
        a = t.numpy()
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return a.tobytes(order="C")


def serialize(tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _TORCH_TO_ST:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        b = _tensor_bytes(t)
        header[name] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_file(tensors: Dict[str, torch.Tensor], path: str, metadata: Optional[Dict[str, str]] = None) -> None:
    """Write atomically (temp file in the same directory, fsync, rename)."""
    data = serialize(tensors, metadata)
    atomic_write(path, data)


def atomic_write(path: str, data: bytes) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def deserialize(data: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    if len(data) < 8:
        raise ValueError("safetensors: file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"safetensors: bad header length {n}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    buf = memoryview(data)[8 + n:]
    out = {}
    spans = []
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in _ST_TO_NP:
            raise ValueError(f"safetensors: {name}: unsupported dtype {dt}")
        shape = tuple(int(s) for s in info["shape"])
        b, e = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= b <= e <= len(buf)) or e - b != count * np.dtype(_ST_TO_NP[dt]).itemsize:
            raise ValueError(f"safetensors: {name}: bad data_offsets {b}..{e}")
        spans.append((b, e))
        a = np.frombuffer(buf[b:e], dtype=_ST_TO_NP[dt]).reshape(shape).copy()
        if dt == "BF16":
            t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")))
        out[name] = t
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError("safetensors: tensors overlap or leave gaps")
        pos = e
    if pos != len(buf):
        raise ValueError("safetensors: trailing bytes after the last tensor")
    return out, meta


def load_file(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        return deserialize(f.read())[0]


def load_file_with_metadata(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    with open(path, "rb") as f:
        return deserialize(f.read())
