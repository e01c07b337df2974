"""PyTorch reference outputs for checking an exported bundle (issue 6).

    train/py -m train.parity --model CKPT/last.pt|W.safetensors --data DIR \\
        --split test --n 20 --size S --out PARITY_DIR

For the first N records of the split (level "full"), writes to PARITY_DIR:

- cases.json: [{"name", "text", "rows", "cols", "spacing"}...] in order
- caseK_hu.npy      [H,W] float32  the slice in HU (as read from the PNG)
- caseK_ids.npy     [T] int32      the token ids the Go tokenizer wrote
- caseK_logits.npy  [S,S] float32  PyTorch logits at the model's input size
- caseK_mask.npy    [H,W] uint8    sigmoid(bilinear(logits -> H,W)) > threshold
- caseK_image.npy   [S,S] float32  the preprocessed image PyTorch saw
- caseK_logits64.npy [S,S] float64 the same model run in float64: the
  reference's own rounding noise is |logits - logits64|, reported in
  cases.json as "f32_vs_f64"

The Go test model.TestBundleParity (LSMS_PARITY_DIR, LSMS_PARITY_BUNDLE) runs
the bundle through model.Segmenter on caseK_hu.npy and the text, and through
LiteRT, and compares.
"""

from __future__ import annotations

import argparse
import copy
import json
import os

import numpy as np
import torch

from .export import load_model
from .lsms.data import SegDataset, load_split, paste_logits
from .lsms.safetensors import atomic_write


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, info = load_model(a.model)
    model64 = copy.deepcopy(model).double()
    items = load_split(a.data, a.split, ["full"])[: a.n]
    texts = {}
    with open(os.path.join(a.data, "manifest.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            k = f"{r['case']}/{r['slice_index']}/{r['target_id']}"
            texts[k] = next((e["text"] for e in r["expressions"] if e["level"] == "full"), None)
    roi = info["roi"]  # the Go segmenter reads the same box from the bundle
    ds = SegDataset(items, a.size, roi=roi)
    os.makedirs(a.out, exist_ok=True)
    cases = []
    with torch.no_grad():
        for k, it in enumerate(items):
            x = ds[k]
            lg = model(x["image"][None], x["ids"][None], x["attn"][None]).float()
            lg64 = model64(x["image"][None].double(), x["ids"][None], x["attn"][None])
            np.save(os.path.join(a.out, f"case{k}_image.npy"), x["image"].numpy()[0])
            np.save(os.path.join(a.out, f"case{k}_logits64.npy"), lg64.numpy()[0, 0])
            noise = float((lg.double() - lg64).abs().max())
            hu = np.asarray(it.hu)
            up = paste_logits(lg, hu.shape[0], hu.shape[1], roi)
            mask = (torch.sigmoid(up) > a.threshold).numpy()[0, 0].astype(np.uint8)
            np.save(os.path.join(a.out, f"case{k}_hu.npy"), hu.astype(np.float32))
            np.save(os.path.join(a.out, f"case{k}_ids.npy"), np.asarray(it.ids, dtype=np.int32))
            np.save(os.path.join(a.out, f"case{k}_logits.npy"), lg.numpy()[0, 0])
            np.save(os.path.join(a.out, f"case{k}_mask.npy"), mask)
            cases.append({"name": it.key, "text": texts[it.key], "rows": int(hu.shape[0]), "cols": int(hu.shape[1]),
                          "f32_vs_f64": noise})
    atomic_write(os.path.join(a.out, "cases.json"), (json.dumps(cases, indent=1) + "\n").encode())
    print(f"wrote {len(cases)} cases to {a.out}")


if __name__ == "__main__":
    main()
