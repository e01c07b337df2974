"""Export a trained LSMS to safetensors + a JSON config for the Go side.

    python3 -m train.export --ckpt CKPT_DIR/last.pt --out DIR [--name lsms]

Writes DIR/NAME.safetensors (every parameter and buffer of the model under
its PyTorch state_dict name, float32, BatchNorm running_mean/running_var
included, num_batches_tracked dropped; the fixed NMF bases are the buffers
`vision.decoder.hamburger.ham.bases`) and DIR/NAME.json naming every
hyperparameter, the preprocessing and the tensor list. Layouts are PyTorch's:
conv weights [out, in/groups, kh, kw], linear weights [out, in], embeddings
[vocab, hidden]. The safetensors writer is train/lsms/safetensors.py.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from .lsms import data as D
from .lsms.data import parse_roi
from .lsms.model import LSMS, MASK_BIAS, LSMSConfig
from .lsms.safetensors import atomic_write, load_file_with_metadata, save_file

EXPORT_FORMAT = "lsms-edge-weights/v1"


def export_state(model: LSMS):
    return {k: v.detach().cpu().float().contiguous() if v.is_floating_point() else v.detach().cpu()
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def describe(cfg: LSMSConfig, size: int, T: int, tensors, roi=None) -> dict:
    d = {
        "format": EXPORT_FORMAT,
        "model": cfg.to_dict(),
        "input": {
            "image": {"shape": [1, cfg.in_chans, size, size], "dtype": "float32", "layout": "NCHW"},
            "ids": {"shape": [1, T], "dtype": "int64"},
            "attention_mask": {"shape": [1, T], "dtype": "int64", "meaning": "1 word, 0 padding"},
        },
        "preprocess": {
            "hu_window": [D.HU_MIN, D.HU_MAX],
            "formula": "x = clip((HU - hu_window[0]) / (hu_window[1] - hu_window[0]), 0, 1)",
            "resize": "bilinear, align_corners=false, half-pixel centres, no antialias, to size x size",
            "size": size,
            **({"roi": list(roi),
                "roi_meaning": "crop [x0, y0, x1, y1] (fractions of columns/rows; each edge "
                               "floor(f * n + 0.5) pixels) before the resize; nothing is predicted "
                               "outside it"} if roi else {}),
        },
        "postprocess": {
            "output": "logits [1, num_classes, size, size]; resize bilinear (align_corners=false) "
                      "to the slice size, sigmoid, threshold",
            "threshold": 0.5,
        },
        "ops": {
            "gelu": "exact (erf)",
            "instance_norm": "y = (x - mean_hw) * rsqrt(var_hw + norm_eps), biased var, no affine",
            "batch_norm": "inference: (x - running_mean) * rsqrt(running_var + norm_eps) * weight + bias",
            "layer_norm_eps": cfg.text.layer_norm_eps,
            "svla_softmax": "softmax over words of (V1^T L1) / sqrt(text_dim) + bias, "
                            f"bias = (1 - attention_mask) * {MASK_BIAS}",
            "bert_attention_bias": "(1 - attention_mask) * -10000 added to the scores",
            "position_align": "bilinear, align_corners=false, to stage-1 size",
            "nmf": "coef = softmax(X^T B0, over R); repeat nmf_steps: coef *= (X^T B)/(coef (B^T B) + eps); "
                   "B *= (X coef)/(B (coef^T coef) + eps); then coef once more; Y = B coef^T; "
                   "X = relu(ham_in(x)) reshaped [C, HW]; B0 = vision.decoder.hamburger.ham.bases",
            "conv_padding": "symmetric k//2 (same)",
        },
        "tensors": {k: list(v.shape) for k, v in sorted(tensors.items())},
    }
    return d


def fold(model: LSMS) -> LSMS:
    """A copy with LayerScale folded into the convolutions it follows."""
    import copy
    from .lsms.model import Block
    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, Block):
            mod.fold_layer_scale()
    m.cfg.layer_scale = 0.0
    return m


def export(model: LSMS, out_dir: str, name: str, size: int, T: int, roi=None) -> tuple:
    model = fold(model)
    tensors = export_state(model)
    desc = describe(model.cfg, size, T, tensors, roi)
    st_path = os.path.join(out_dir, name + ".safetensors")
    js_path = os.path.join(out_dir, name + ".json")
    meta = {"format": EXPORT_FORMAT, "config": json.dumps(desc["model"])}
    if roi:
        meta["roi"] = json.dumps(list(roi))
    save_file(tensors, st_path, metadata=meta)
    atomic_write(js_path, (json.dumps(desc, indent=2) + "\n").encode())
    return st_path, js_path


def load_exported(st_path: str) -> LSMS:
    return _from_export(st_path, *load_file_with_metadata(st_path))


def _from_export(st_path: str, tensors, meta) -> LSMS:
    if meta.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{st_path}: not an {EXPORT_FORMAT} file")
    model = LSMS(LSMSConfig.from_dict(json.loads(meta["config"])))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{st_path}: missing {missing}, unexpected {unexpected}")
    return model


def load_checkpoint(path: str):
    ck = torch.load(path, map_location="cpu")
    model = LSMS(LSMSConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    return model, ck


def load_model(path: str):
    """A training checkpoint (.pt) or an export (.safetensors), read once ->
    (model in eval mode, {"roi": the region of interest it was trained or
    exported with or None, "size": the training input size or None})."""
    if path.endswith(".safetensors"):
        tensors, meta = load_file_with_metadata(path)
        r = meta.get("roi")
        return _from_export(path, tensors, meta).eval(), {"roi": tuple(json.loads(r)) if r else None, "size": None}
    model, ck = load_checkpoint(path)
    args = ck["args"]
    return model.eval(), {"roi": parse_roi(args.get("roi", "")), "size": args.get("size")}


def load_any(path: str) -> LSMS:
    """A training checkpoint (.pt) or an export (.safetensors) -> model in eval mode."""
    return load_model(path)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="lsms")
    ap.add_argument("--size", type=int, default=0, help="input size recorded in the JSON (default: training size)")
    ap.add_argument("--T", type=int, default=0, help="token length recorded in the JSON (default: from the data)")
    a = ap.parse_args()
    model, ck = load_checkpoint(a.ckpt)
    size = a.size or int(ck["args"]["size"])
    T = a.T
    if not T:
        try:
            with open(os.path.join(ck["args"]["data"], "tokens.json")) as f:
                T = int(json.load(f)["T"])
        except OSError:
            T = model.cfg.text.max_position_embeddings
    roi = parse_roi(ck["args"].get("roi", ""))
    st_path, js_path = export(model.eval(), a.out, a.name, size, T, roi)
    n = sum(v.numel() for v in export_state(model).values())
    print(f"exported step {ck['step']}: {st_path} ({n} values), {js_path}")


if __name__ == "__main__":
    main()
