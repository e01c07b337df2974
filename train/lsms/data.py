"""Data: HU slices + masks + token ids -> training tensors.

The dataset directory is the synthetic set written by
`go run ./cmd/lsms synth --out DIR` (dataset.json, manifest.jsonl, 16-bit
slice PNGs holding HU + hu_offset, 8-bit 0/255 masks) plus two files of
token ids written by the Go tokenizer (the Python side never tokenizes):

  tokens.json   {"format": "lsms-token-ids/v1", "vocab_size": V, "T": T,
                 "pad_id": 0, "cls_id": C, "sep_id": S}
  tokens.jsonl  one line per (manifest record, level):
                {"record": i, "level": "full", "ids": [T ints],
                 "attention_mask": [T 0/1]}
                i = 0-based index of the record's line in manifest.jsonl
                (blank lines not counted); optional "case", "slice_index",
                "target_id" are checked against the record when present.

Level "none" (no text) is the empty expression [CLS] [SEP]; it is built
here from cls_id/sep_id when tokens.jsonl has no "none" lines.

`SegDataset` holds in-memory items (HU int16 array, mask, ids, attention
mask) so that tests and other sources can use it without files.
`write_fallback_set` writes a tiny set of random discs in the same layout
(for the smoke test only, so it does not depend on the Go side).
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .safetensors import atomic_write

# HU window mapped to [0, 1] before the network (liver/abdomen window,
# level 40 HU, width 400 HU). Values outside are clipped.
HU_MIN = -160.0
HU_MAX = 240.0
LEVELS = ("full", "half", "quarter", "none")
TOKENS_FORMAT = "lsms-token-ids/v1"


def hu_to_input(hu: np.ndarray) -> np.ndarray:
    x = (hu.astype(np.float32) - HU_MIN) / (HU_MAX - HU_MIN)
    return np.clip(x, 0.0, 1.0)


def roi_box(roi, rows: int, cols: int):
    """Pixel box (y0, y1, x0, x1) of a region of interest given as fractions
    (x0, y0, x1, y1) of the slice's columns and rows: each edge is
    floor(f * n + 0.5), clamped to [0, n]; None or an empty roi is the whole
    slice. The Go segmenter computes the same box (model.ROIBox)."""
    if not roi:
        return 0, rows, 0, cols
    x0, y0, x1, y1 = roi
    def px(f, n):
        return min(n, max(0, int(math.floor(f * n + 0.5))))
    box = px(y0, rows), px(y1, rows), px(x0, cols), px(x1, cols)
    if box[1] <= box[0] or box[3] <= box[2]:
        raise ValueError(f"roi {roi} is empty on a {rows}x{cols} slice")
    return box


def parse_roi(s: str):
    """'x0,y0,x1,y1' (fractions) -> tuple, or None for ''."""
    if not s:
        return None
    v = tuple(float(t) for t in s.split(","))
    if len(v) != 4 or not (0 <= v[0] < v[2] <= 1 and 0 <= v[1] < v[3] <= 1):
        raise ValueError(f"roi {s!r}: want x0,y0,x1,y1 with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
    return v


def paste_logits(lg: torch.Tensor, rows: int, cols: int, roi) -> torch.Tensor:
    """Logits [1,1,S,S] of the (cropped) input -> [1,1,rows,cols]: bilinear
    (align_corners=False) to the box, -inf (probability 0) outside it."""
    y0, y1, x0, x1 = roi_box(roi, rows, cols)
    if (y0, y1, x0, x1) == (0, rows, 0, cols):
        if lg.shape[-2:] != (rows, cols):
            lg = F.interpolate(lg, size=(rows, cols), mode="bilinear", align_corners=False)
        return lg
    out = torch.full(lg.shape[:2] + (rows, cols), float("-inf"), dtype=lg.dtype)
    out[..., y0:y1, x0:x1] = F.interpolate(lg, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)
    return out


def resize_image(x: torch.Tensor, size: int) -> torch.Tensor:
    """[1,H,W] float -> [1,size,size], bilinear, align_corners=False, no antialias."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False)[0]


def resize_mask(m: torch.Tensor, size: int) -> torch.Tensor:
    """[1,H,W] {0,1} -> [1,size,size] {0,1}: bilinear then >= 0.5."""
    if m.shape[-2:] == (size, size):
        return m
    r = F.interpolate(m[None].float(), size=(size, size), mode="bilinear", align_corners=False)[0]
    return (r >= 0.5).float()


@dataclass
class Item:
    hu: np.ndarray  # [H,W] int16 Hounsfield units
    mask: np.ndarray  # [H,W] uint8/bool, nonzero = target
    ids: np.ndarray  # [T] int
    attn: np.ndarray  # [T] 0/1
    key: str = ""
    level: str = "full"
    # union of every described lesion on the slice (training's auxiliary
    # "all lesions" target); None when unknown
    lesions: Optional[np.ndarray] = None


class SegDataset(torch.utils.data.Dataset):
    """Items -> dict(image [1,S,S] float, mask [1,S,S] float, ids [T] long,
    attn [T] long, mask_full [1,H,W] (original-size mask, eval only))."""

    def __init__(self, items: Sequence[Item], size: int, keep_full: bool = False, roi=None):
        self.items = list(items)
        self.size = size
        self.keep_full = keep_full
        self.roi = roi  # (x0, y0, x1, y1) fractions: crop before resizing (None: whole slice)
        # resized arrays keyed by the identity of the source array: the
        # levels of a record share its mask, the records of a slice its
        # image and lesion union, so each is resized and held once
        # (masks as uint8)
        self._cache: Dict[tuple, torch.Tensor] = {}

    def __len__(self):
        return len(self.items)

    def _resized(self, kind: str, a: np.ndarray) -> torch.Tensor:
        k = (kind, id(a))
        t = self._cache.get(k)
        if t is None:
            y0, y1, x0, x1 = roi_box(self.roi, a.shape[-2], a.shape[-1])
            if kind == "image":
                t = resize_image(torch.from_numpy(hu_to_input(np.asarray(a)))[None, y0:y1, x0:x1], self.size)
            else:
                m = torch.from_numpy((np.asarray(a) > 0).astype(np.float32))[None, y0:y1, x0:x1]
                t = resize_mask(m, self.size).to(torch.uint8)
            self._cache[k] = t
        return t if kind == "image" else t.float()

    def __getitem__(self, i: int) -> dict:
        it = self.items[i]
        d = {
            "image": self._resized("image", it.hu),
            "mask": self._resized("mask", it.mask),
            "ids": torch.as_tensor(np.asarray(it.ids), dtype=torch.long),
            "attn": torch.as_tensor(np.asarray(it.attn), dtype=torch.long),
        }
        d["lesions"] = self._resized("mask", it.lesions) if it.lesions is not None else d["mask"]
        if self.keep_full:
            d["mask_full"] = torch.from_numpy((np.asarray(it.mask) > 0).astype(np.float32))[None]
        return d


# --------------------------------------------------------------------------
# the on-disk set


def read_png_u16(path: str) -> np.ndarray:
    with Image.open(path) as im:
        a = np.array(im)
    if a.dtype != np.uint16 and a.dtype != np.int32:
        raise ValueError(f"{path}: {im.mode} PNG, want 16-bit grey")
    return a.astype(np.int32)


def read_mask(path: str) -> np.ndarray:
    with Image.open(path) as im:
        a = np.array(im.convert("L"))
    return (a > 0).astype(np.uint8)


def read_jsonl(path: str) -> List[dict]:
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


class TokenTable:
    """tokens.json + tokens.jsonl: (record, level) -> (ids, attention mask)."""

    def __init__(self, root: str):
        meta_path = os.path.join(root, "tokens.json")
        ids_path = os.path.join(root, "tokens.jsonl")
        if not (os.path.exists(meta_path) and os.path.exists(ids_path)):
            raise FileNotFoundError(
                f"{root}: tokens.json/tokens.jsonl missing: token ids must come from the Go "
                "tokenizer (see train/DESIGN.md, 'Token ids from the Go side')")
        with open(meta_path) as f:
            self.meta = json.load(f)
        if self.meta.get("format") != TOKENS_FORMAT:
            raise ValueError(f"{meta_path}: format {self.meta.get('format')!r}, want {TOKENS_FORMAT!r}")
        self.T = int(self.meta["T"])
        self.vocab_size = int(self.meta["vocab_size"])
        self.entries: Dict[tuple, dict] = {}
        for e in read_jsonl(ids_path):
            ids, attn = e["ids"], e.get("attention_mask")
            if attn is None:
                attn = [1 if t != self.meta.get("pad_id", 0) else 0 for t in ids]
            if len(ids) != self.T or len(attn) != self.T:
                raise ValueError(f"{ids_path}: record {e['record']} {e['level']}: length != T={self.T}")
            if max(ids) >= self.vocab_size or min(ids) < 0:
                raise ValueError(f"{ids_path}: record {e['record']}: id outside vocab")
            self.entries[(int(e["record"]), e["level"])] = e

    def get(self, record: int, level: str, rec: Optional[dict] = None):
        e = self.entries.get((record, level))
        if e is None and level == "none":
            ids = [0] * self.T
            ids[0], ids[1] = int(self.meta["cls_id"]), int(self.meta["sep_id"])
            pad = int(self.meta.get("pad_id", 0))
            ids[2:] = [pad] * (self.T - 2)
            return np.array(ids), np.array([1, 1] + [0] * (self.T - 2))
        if e is None:
            return None
        if rec is not None:
            for k in ("case", "slice_index", "target_id"):
                if k in e and k in rec and e[k] != rec[k]:
                    raise ValueError(f"tokens.jsonl record {record}: {k} {e[k]!r} != manifest {rec[k]!r}")
        attn = e.get("attention_mask") or [1 if t != self.meta.get("pad_id", 0) else 0 for t in e["ids"]]
        return np.array(e["ids"]), np.array(attn)


def load_split(root: str, split: str, levels: Sequence[str]) -> List[Item]:
    """Items of one split (train/val/test) for the given text levels.

    A record without an expression at a level is skipped for that level.
    """
    manifest = read_jsonl(os.path.join(root, "manifest.jsonl"))
    tokens = TokenTable(root)
    items = []
    unions: Dict[str, np.ndarray] = {}  # image path -> union of its records' masks
    slices: Dict[str, np.ndarray] = {}  # image path -> HU (one array per slice, shared by its records)
    for i, rec in enumerate(manifest):
        if split != "all" and rec.get("split") != split:
            continue
        hu = mask = None
        for lv in levels:
            got = tokens.get(i, lv, rec)
            if got is None:
                continue
            if hu is None:
                hu = slices.get(rec["image"])
                if hu is None:
                    off = int(rec.get("hu_offset", 32768))
                    hu = slices[rec["image"]] = (
                        read_png_u16(os.path.join(root, rec["image"])) - off).astype(np.int16)
                mask = read_mask(os.path.join(root, rec["mask"]))
                u = unions.get(rec["image"])
                if u is None:
                    u = unions[rec["image"]] = np.zeros_like(mask)
                np.maximum(u, mask, out=u)
            key = f"{rec.get('case')}/{rec.get('slice_index')}/{rec.get('target_id')}"
            items.append(Item(hu=hu, mask=mask, ids=got[0], attn=got[1], key=key, level=lv,
                              lesions=unions[rec["image"]]))
    return items


# --------------------------------------------------------------------------
# fallback generator (smoke test only)

FALLBACK_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "disc", "larger", "smaller",
                  "left", "right", "upper", "lower", "bright", "dark", "on", "[MASK]"]


def write_fallback_set(root: str, n: int, size: int = 64, seed: int = 0, T: int = 12,
                       val_fraction: float = 0.25) -> None:
    """Write n slices of two random discs each, in the Go set's layout.

    The target is one of the two discs; the expressions name it by size and
    side ("the larger bright disc on the left", "the larger disc", "larger").
    HU: background ~ 50 HU, discs ~ -20 or 150 HU, Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    voc = {w: i for i, w in enumerate(FALLBACK_VOCAB)}
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    os.makedirs(os.path.join(root, "masks"), exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]
    manifest, toks = [], []
    n_val = int(round(n * val_fraction))
    for k in range(n):
        hu = rng.normal(50, 12, (size, size))
        discs = []
        for side in ("left", "right"):
            r = rng.uniform(0.07, 0.18) * size
            cx = rng.uniform(0.2, 0.35) * size if side == "left" else rng.uniform(0.65, 0.8) * size
            cy = rng.uniform(0.25, 0.75) * size
            val = rng.choice([-20.0, 150.0])
            m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            hu[m] = rng.normal(val, 12, m.sum())
            discs.append((side, r, m, "bright" if val > 50 else "dark"))
        if abs(discs[0][1] - discs[1][1]) < 0.02 * size:  # make sizes distinguishable
            side, r, m, b = discs[1]
            r2 = r + 0.04 * size
            m2 = (xx - xx[m].mean()) ** 2 + (yy - yy[m].mean()) ** 2 <= r2 * r2
            discs[1] = (side, r2, m2, b)
        t = int(rng.integers(2))
        side, r, m, bright = discs[t]
        larger = "larger" if r >= discs[1 - t][1] else "smaller"
        texts = {"full": ["the", larger, bright, "disc", "on", "the", side],
                 "half": ["the", larger, "disc"], "quarter": [larger]}
        img = f"images/s{k:04d}.png"
        msk = f"masks/s{k:04d}.png"
        Image.fromarray((np.clip(hu, -1024, 3000) + 32768).astype(np.uint16)).save(os.path.join(root, img))
        Image.fromarray((m * 255).astype(np.uint8)).save(os.path.join(root, msk))
        rec = {"case": f"fallback_{k:04d}", "split": "val" if k < n_val else "train",
               "slice_index": 0, "image": img, "mask": msk, "rows": size, "columns": size,
               "hu_offset": 32768, "target_id": t,
               "expressions": [{"level": lv, "text": " ".join(w)} for lv, w in texts.items()]}
        manifest.append(rec)
        for lv, words in texts.items():
            ids = [voc["[CLS]"]] + [voc[w] for w in words] + [voc["[SEP]"]]
            attn = [1] * len(ids) + [0] * (T - len(ids))
            ids = ids + [0] * (T - len(ids))
            toks.append({"record": k, "level": lv, "case": rec["case"], "slice_index": 0,
                         "target_id": t, "ids": ids, "attention_mask": attn})
    info = {"format": "lsms-train-fallback/v1", "seed": seed, "cases": n, "slices": n, "records": n}
    atomic_write(os.path.join(root, "dataset.json"), (json.dumps(info) + "\n").encode())
    atomic_write(os.path.join(root, "manifest.jsonl"),
                 "".join(json.dumps(r) + "\n" for r in manifest).encode())
    meta = {"format": TOKENS_FORMAT, "vocab_size": len(FALLBACK_VOCAB), "T": T,
            "pad_id": 0, "cls_id": voc["[CLS]"], "sep_id": voc["[SEP]"]}
    atomic_write(os.path.join(root, "tokens.json"), (json.dumps(meta) + "\n").encode())
    atomic_write(os.path.join(root, "vocab.txt"), "".join(w + "\n" for w in FALLBACK_VOCAB).encode())
    atomic_write(os.path.join(root, "tokens.jsonl"), "".join(json.dumps(e) + "\n" for e in toks).encode())


def main():
    import argparse
    ap = argparse.ArgumentParser(description="write the Python fallback set (smoke tests only)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_fallback_set(a.out, a.n, a.size, a.seed)


if __name__ == "__main__":
    main()
