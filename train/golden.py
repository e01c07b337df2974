"""Parity goldens for the Go TFLite graph builders (model/lsms, model/bert).

    train/py -m train.golden --out model/lsms/testdata [--debug DIR] [--size S]

Builds a TINY LSMS of the edge architecture (same block structure, small
widths, a 2-layer BERT), gives every bias / norm parameter random values
and the word projections (omega_l1, omega_l2) trained-like magnitudes,
re-estimates the BatchNorm statistics on a few random inputs in train mode
(untrained statistics make the multiplicative blocks explode), switches to
eval mode and writes, into OUT:

- lsms.safetensors + lsms.json   via train.export.export (the real export path)
- caseK_image.npy  [1,S,S,1] float32  (NHWC; = NCHW since C = 1), in [0, 1]
- caseK_ids.npy    [1,T] int32
- caseK_mask.npy   [1,T] float32 (1 word, 0 padding)
- caseK_words.npy  [1,T,C_l] float32  BERT last hidden state
- caseK_logits.npy [1,S,S,1] float32
- caseK_logits64.npy [1,S,S,1] float64: the same model run in float64
- golden.json: sizes, and the float32-vs-float64 PyTorch difference (the
  reference's own rounding noise) per case and output.

With --debug DIR it also writes every stage output (NHWC) and the float64
logits of every case to DIR (for locating a parity problem).
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from .export import export
from .lsms.model import LSMS, LSMSConfig, mask_bias
from .lsms.text import BertConfig

SIZE = 64
T = 16


def tiny_config() -> LSMSConfig:
    txt = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=32)
    return LSMSConfig(name="golden-tiny", widths=(8, 16, 24, 32), depths=(2, 1, 2, 1),
                      mlp_ratios=(2, 2, 2, 2), ham_channels=16, nmf_rank=8, text_dim=32, text=txt)


def randomize(model: LSMS, g: torch.Generator) -> None:
    """Non-trivial biases and norm parameters so that every folding is exercised."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 and name.endswith("weight"):  # BN / LayerNorm scale
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".v1_xy.weight"):  # zero at initialisation
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif ".attn.l1." in name or ".attn.l2." in name:
                # trunc-normal(0.02) word projections give near-uniform word
                # attention, so Att_L' is almost constant over the pixels and
                # omega_f's instance norm amplifies float32 rounding ~100x:
                # use trained-like magnitudes instead.
                p.copy_(torch.randn(p.shape, generator=g) * 2.0 / p.shape[1] ** 0.5)
        seg = model.vision.decoder.seg.weight
        seg.copy_(torch.randn(seg.shape, generator=g) / seg.shape[1] ** 0.5)


def make_image(g: torch.Generator, k: int) -> torch.Tensor:
    """A CT-like slice in [0, 1]: smooth background, noise, a bright disc."""
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    cy, cx, r = 20.0 + 7 * k, 38.0 - 9 * k, 8.0 + 2 * k
    img = 0.35 + 0.1 * torch.sin(xx / 9.0 + k) * torch.cos(yy / 13.0)
    img = img + 0.05 * torch.randn(SIZE, SIZE, generator=g)
    img = torch.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, 0.8 + 0.05 * torch.randn(SIZE, SIZE, generator=g), img)
    return img.clamp(0, 1).view(1, 1, SIZE, SIZE)


def make_tokens(g: torch.Generator, n: int, vocab: int):
    ids = torch.zeros(1, T, dtype=torch.int64)
    ids[0, 0] = 2
    ids[0, 1:n - 1] = torch.randint(4, vocab, (n - 2,), generator=g)
    ids[0, n - 1] = 3
    mask = torch.zeros(1, T, dtype=torch.int64)
    mask[0, :n] = 1
    return ids, mask


def calibrate_bn(model: LSMS, g: torch.Generator, batches: int = 6) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for b in range(batches):
            img = torch.cat([make_image(g, (b + i) % 3) for i in range(2)])
            ids, mask = zip(*(make_tokens(g, 5 + (3 * b + i) % (T - 5), model.cfg.text.vocab_size) for i in range(2)))
            model(img, torch.cat(ids), torch.cat(mask))
    model.eval()


def forward(model: LSMS, image, ids, mask, debug=None):
    words = model.text(ids, mask)
    bias = mask_bias(mask).to(words.dtype)
    if debug is None:
        return words, model.vision(image.to(words.dtype), words, bias)
    feats = []
    x = image.to(words.dtype)
    for st in model.vision.stages:
        x = st(x, words, bias)
        feats.append(x)
    return words, model.vision.decoder(feats, image.shape[2:]), feats


def nhwc(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().permute(0, 2, 3, 1).numpy().astype(np.float32))


def main():
    global SIZE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="model/lsms/testdata")
    ap.add_argument("--debug", default="")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--size", type=int, default=0, help=f"input size (default {SIZE})")
    ap.add_argument("--coords", action="store_true", help="a model with coordinate input channels (coord_chans 2) and coordinates at every SVLA's omega_v1 (attn_coords)")
    a = ap.parse_args()
    SIZE = a.size or SIZE
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    cfg = tiny_config()
    if a.coords:
        cfg.coord_chans = 2
        cfg.attn_coords = True
    model = LSMS(cfg)
    randomize(model, g)
    calibrate_bn(model, g)
    os.makedirs(a.out, exist_ok=True)
    export(model, a.out, "lsms", SIZE, T)
    model64 = LSMS(cfg).double().eval()
    model64.load_state_dict(model.state_dict())

    summary = {"size": SIZE, "T": T, "seed": a.seed, "cases": []}
    for k, n in enumerate((9, T)):
        image = make_image(g, k)
        ids, mask = make_tokens(g, n, cfg.text.vocab_size)
        with torch.no_grad():
            if a.debug:
                words, logits, feats = forward(model, image, ids, mask, debug=True)
                w64, l64, feats64 = forward(model64, image.double(), ids, mask, debug=True)
                os.makedirs(a.debug, exist_ok=True)
                for i, (f, f64) in enumerate(zip(feats, feats64)):
                    np.save(os.path.join(a.debug, f"case{k}_stage{i}.npy"), nhwc(f))
                    np.save(os.path.join(a.debug, f"case{k}_stage{i}_f64.npy"), np.ascontiguousarray(f64.permute(0, 2, 3, 1).numpy()))
                np.save(os.path.join(a.debug, f"case{k}_logits_f64.npy"), l64.permute(0, 2, 3, 1).numpy())
            else:
                words, logits = forward(model, image, ids, mask)
                w64, l64 = forward(model64, image.double(), ids, mask)
            full = model(image, ids, mask)
            assert torch.equal(full, logits)
        arrays = {
            "image": nhwc(image), "ids": ids.numpy().astype(np.int32), "mask": mask.numpy().astype(np.float32),
            "words": words.numpy().astype(np.float32), "logits": nhwc(logits),
        }
        # The float64 forward of the same weights: how far float32 may be from exact.
        arrays["logits64"] = np.ascontiguousarray(l64.permute(0, 2, 3, 1).numpy())
        for name, arr in arrays.items():
            np.save(os.path.join(a.out, f"case{k}_{name}.npy"), arr)
        c = {"words": n}
        for name, x32, x64 in (("words", words, w64), ("logits", logits, l64)):
            c[name + "_max_abs"] = float(x32.abs().max())
            c[name + "_f32_vs_f64"] = float((x32.double() - x64).abs().max())
        summary["cases"].append(c)
        print(f"case {k}: {json.dumps(c)}")
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    for fn in os.listdir(a.out):
        os.chmod(os.path.join(a.out, fn), 0o644)


if __name__ == "__main__":
    main()
