"""Parameter and multiply-add count of the LSMS vision model + decoder.

    python3 -m train.count --config paper|tiny|edge --size 480 [--words 20]

Parameters: vision encoder + Full-Scale Decoder (the text encoder, BERT, is
excluded; the word projections omega_l1/omega_l2 of every SVLA are counted,
they belong to the vision blocks). Multiply-adds: every nn.Conv2d and
nn.Linear executed in one forward pass of one image, counted with forward
hooks (out elements x in-channels/groups x kernel area; linear: out elements x
in features). That is the reference metric. Matmuls (SVLA word attention,
NMF iterations) are reported separately ("+matmul"), counted by wrapping
torch.matmul during the pass; softmax, norms and elementwise ops are not
counted anywhere.
"""

import argparse

import torch
import torch.nn as nn

from .lsms.model import LSMSVision, get_config

PAPER_PARAMS_M = 8.78
PAPER_GMACS = 8.91


def count(cfg, size: int, words: int = 20):
    model = LSMSVision(cfg).eval()
    params = sum(p.numel() for p in model.parameters())
    macs = [0]
    per = {}

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        else:
            k = mod.in_features
        n = out.numel() // out.shape[0] * k
        macs[0] += n
        per[mod._name] = per.get(mod._name, 0) + n

    hs = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m._name = name.split(".")[0] + ("." + name.split(".")[1] if name.startswith("stages") else "")
            hs.append(m.register_forward_hook(hook))
    img = torch.rand(1, cfg.in_chans, size, size)
    lang = torch.randn(1, words, cfg.text_dim)
    bias = torch.zeros(1, 1, words)
    mm = [0]
    real_matmul = torch.matmul

    def counting_matmul(a, b):
        out = real_matmul(a, b)
        mm[0] += out.numel() // out.shape[0] * a.shape[-1]
        return out

    torch.matmul = counting_matmul
    try:
        with torch.no_grad():
            model(img, lang, bias)
    finally:
        torch.matmul = real_matmul
    for h in hs:
        h.remove()
    dec = sum(p.numel() for p in model.decoder.parameters())
    return params, macs[0], dec, per, mm[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="paper")
    ap.add_argument("--size", type=int, default=480)
    ap.add_argument("--words", type=int, default=20, help="T, words fed to omega_l1/l2 (linear MACs)")
    ap.add_argument("--detail", action="store_true")
    a = ap.parse_args()
    cfg = get_config(a.config)
    params, macs, dec, per, mm = count(cfg, a.size, a.words)
    print(f"config {a.config}: widths {list(cfg.widths)} depths {list(cfg.depths)} "
          f"mlp {list(cfg.mlp_ratios)} C_l {cfg.text_dim} ham {cfg.ham_channels}")
    print("| config | size | params (M) | of which decoder (M) | conv+linear MACs (G) | +matmul MACs (G) "
          "| paper params (M) | paper FLOPs (G) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {a.config} | {a.size} | {params / 1e6:.3f} | {dec / 1e6:.3f} | {macs / 1e9:.3f} | "
          f"{(macs + mm) / 1e9:.3f} | {PAPER_PARAMS_M} | {PAPER_GMACS} |")
    if a.detail:
        for k, v in per.items():
            print(f"  {k:12s} {v / 1e9:.3f} G")


if __name__ == "__main__":
    main()
