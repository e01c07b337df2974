"""One set of LSMS weights for every runtime of the speed comparison.

    train/py -m train.onnx_export make --config tiny --sizes 480,256 --T 20 --out DIR [--seed 1] [--ckpt CKPT]
    train/py -m train.onnx_export bench --dir DIR --sizes 480,256 --threads 2 --runs 10 --warmup 2

make: builds LSMS(config) (or loads --ckpt, a training checkpoint or an
export), and without a checkpoint gives it random weights that keep the
activations in range: random biases and norm parameters, trained-like word
projections (train/golden.randomize), then the BatchNorm statistics
re-estimated one BatchNorm at a time on a few CT-like images with random
word features (untrained statistics make the multiplicative blocks explode).
It writes into DIR:

- lsms.safetensors + lsms.json   through train.export.export (what
  model/cmd/lsms2tflite and model/lsms read; LayerScale folded)
- lsms_vision_S.onnx             per size S: the same folded model's vision
  part, inputs image [1,1,S,S] (= NHWC, one channel), words [1,T,C_l] and
  mask [1,T] (1 word, 0 padding; the softmax bias is computed inside, as
  in the TFLite graph), output logits [1,1,S,S]; torch.onnx.export, opset
  17, no `onnx` Python package needed
- in_S_image.npy, in_S_words.npy, in_S_mask.npy   float32 inputs for S
- out_S_torch.npy                PyTorch's float32 logits on them
- peers.json                     config, sizes, T, seed, what was written

bench: loads DIR/lsms.safetensors back (train.export.load_exported) and
times the vision forward in eager PyTorch (torch.inference_mode, the given
intra-op thread count) on the saved inputs, median and min of --runs after
--warmup, and prints one JSON object per size on stdout:
{"runtime": "pytorch", "size": S, "threads": N, "times_ms": [...],
"median_ms": M, "version": "1.13.0", "max_abs_diff_vs_saved": d}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

from .export import export, fold, load_any, load_exported
from .golden import randomize
from .lsms.model import LSMS, MASK_BIAS, get_config

SEED_INPUTS = 7
WORDS = 9  # valid words of the T slots in the saved inputs


class VisionONNX(torch.nn.Module):
    """The vision graph with the TFLite graph's inputs: (image, words, mask)."""

    def __init__(self, model: LSMS):
        super().__init__()
        self.vision = model.vision

    def forward(self, image, words, mask):
        bias = ((1.0 - mask) * MASK_BIAS).unsqueeze(1)
        return self.vision(image, words, bias)


def ct_image(g: torch.Generator, size: int, k: int) -> torch.Tensor:
    """A CT-like slice in [0, 1]: smooth background, noise, a bright disc."""
    ax = torch.arange(size, dtype=torch.float32) * (64.0 / size)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    cy, cx, r = 20.0 + 7 * k, 38.0 - 9 * k, 8.0 + 2 * k
    img = 0.35 + 0.1 * torch.sin(xx / 9.0 + k) * torch.cos(yy / 13.0)
    img = img + 0.05 * torch.randn(size, size, generator=g)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img = torch.where(disc, 0.8 + 0.05 * torch.randn(size, size, generator=g), img)
    return img.clamp(0, 1).view(1, 1, size, size)


def word_inputs(g: torch.Generator, T: int, dim: int, n: int):
    words = torch.randn(1, T, dim, generator=g)
    mask = torch.zeros(1, T)
    mask[0, :n] = 1
    return words, mask


def calibrate_bn(model: LSMS, g: torch.Generator, size: int, batches: int) -> None:
    """BatchNorm running statistics, one BatchNorm at a time in forward
    order: each sees its input as the eval-mode model upstream computes it
    (re-estimating them all at once in train mode feeds every later one the
    batch-normalised activations instead, and the deeper multiplicative
    blocks of a random model then explode in eval mode)."""
    model.eval()
    T = 16
    data = []
    for b in range(batches):
        img = torch.cat([ct_image(g, size, (b + i) % 3) for i in range(2)])
        ws, ms = zip(*(word_inputs(g, T, model.cfg.text_dim, 3 + (b + i) % (T - 3)) for i in range(2)))
        words, mask = torch.cat(ws), torch.cat(ms)
        data.append((img, words, ((1.0 - mask) * MASK_BIAS).unsqueeze(1)))
    with torch.no_grad():
        for m in model.vision.modules():
            if not isinstance(m, torch.nn.BatchNorm2d):
                continue
            m.reset_running_stats()
            m.momentum = None  # cumulative average
            m.train()
            for img, words, bias in data:
                model.vision(img, words, bias)
            m.eval()


def make(a) -> None:
    os.makedirs(a.out, exist_ok=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    if a.ckpt:
        model = load_any(a.ckpt)
        source = a.ckpt
    else:
        model = LSMS(get_config(a.config))
        randomize(model, g)
        a.calib_size = a.calib_size or max(sizes)
        calibrate_bn(model, g, a.calib_size, a.calib_batches)
        source = f"random ({a.config}, seed {a.seed}, BatchNorm statistics from {a.calib_batches} batches of 2 at {a.calib_size}, one at a time)"
    model.eval()
    st_path, js_path = export(model, a.out, "lsms", max(sizes), a.T)
    # What the Go side reads, read back: the ONNX graphs and PyTorch's
    # reference outputs come from exactly those tensors.
    model = fold(load_exported(st_path)).eval()
    wrapper = VisionONNX(model).eval()
    written = [st_path, js_path]
    gi = torch.Generator().manual_seed(SEED_INPUTS)
    for s in sizes:
        image = ct_image(gi, s, 1)
        words, mask = word_inputs(gi, a.T, model.cfg.text_dim, min(WORDS, a.T))
        with torch.inference_mode():
            logits = wrapper(image, words, mask)
        if not torch.isfinite(logits).all():
            raise SystemExit(f"size {s}: the logits are not finite; try another --seed")
        arrays = {f"in_{s}_image": image.numpy(), f"in_{s}_words": words.numpy(),
                  f"in_{s}_mask": mask.numpy(), f"out_{s}_torch": logits.numpy()}
        for name, arr in arrays.items():
            p = os.path.join(a.out, name + ".npy")
            tmp = p + ".tmp.npy"
            np.save(tmp, np.ascontiguousarray(arr.astype(np.float32)))
            os.replace(tmp, p)
            written.append(p)
        onnx_path = os.path.join(a.out, f"lsms_vision_{s}.onnx")
        tmp = onnx_path + ".tmp"
        with torch.no_grad():
            torch.onnx.export(wrapper, (image, words, mask), tmp, opset_version=17,
                              input_names=["image", "words", "mask"], output_names=["logits"],
                              do_constant_folding=True)
        os.replace(tmp, onnx_path)
        written.append(onnx_path)
        print(f"size {s}: logits max |x| {float(logits.abs().max()):.4g}, {onnx_path}", file=sys.stderr)
    meta = {"format": "lsms-peers/v1", "config": model.cfg.name, "sizes": sizes, "T": a.T, "seed": a.seed,
            "source": source, "torch": torch.__version__, "files": [os.path.basename(p) for p in written]}
    p = os.path.join(a.out, "peers.json")
    with open(p + ".tmp", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(p + ".tmp", p)


def bench(a) -> None:
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = fold(load_exported(os.path.join(a.dir, "lsms.safetensors"))).eval()
    wrapper = VisionONNX(model).eval()
    for s in [int(x) for x in a.sizes.split(",")]:
        def load(name):
            return torch.from_numpy(np.load(os.path.join(a.dir, f"{name}.npy")))
        image, words, mask = load(f"in_{s}_image"), load(f"in_{s}_words"), load(f"in_{s}_mask")
        want = load(f"out_{s}_torch")
        times = []
        with torch.inference_mode():
            for i in range(a.warmup + a.runs):
                t0 = time.perf_counter()
                out = wrapper(image, words, mask)
                dt = time.perf_counter() - t0
                if i >= a.warmup:
                    times.append(dt * 1e3)
        diff = float((out - want).abs().max())
        print(json.dumps({"runtime": "pytorch", "size": s, "threads": a.threads, "times_ms": times,
                          "median_ms": statistics.median(times), "version": torch.__version__,
                          "max_abs_diff_vs_saved": diff if math.isfinite(diff) else None}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="weights, ONNX graphs, inputs and PyTorch outputs")
    m.add_argument("--config", default="tiny", help="paper, tiny or edge (without --ckpt)")
    m.add_argument("--ckpt", default="", help="a training checkpoint (.pt) or export (.safetensors) instead of random weights")
    m.add_argument("--sizes", default="480,256")
    m.add_argument("--T", type=int, default=20)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--calib-size", type=int, default=0, help="image size of the BatchNorm re-estimation (default: the largest of --sizes; statistics from smaller images let a random tiny model explode at 480)")
    m.add_argument("--calib-batches", type=int, default=3)
    m.add_argument("--out", required=True)
    b = sub.add_parser("bench", help="time the PyTorch vision forward on the saved inputs")
    b.add_argument("--dir", required=True)
    b.add_argument("--sizes", default="480,256")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--runs", type=int, default=10)
    b.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    if a.cmd == "make":
        make(a)
    else:
        bench(a)


if __name__ == "__main__":
    main()
