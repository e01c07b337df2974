"""Is the language branch alive? Diagnostics of a checkpoint or export.

    train/py -m train.diagnose --model CKPT|W.safetensors --data DIR \\
        [--split val] [--n 150] [--size S]

Prints, on the first records of the split (level "full"):

1. the text encoder: per-token output norm and the mean distance of a
   token's output to its expression's mean (0: every token the same vector,
   the collapse train/DESIGN.md describes), and per SVLA the spread of the
   word projection omega_l1 across tokens;
2. per SVLA, on 4 slices: |V_pre + Att_V| against |omega_f(Att_L') (.) V2|
   (what the language adds), the spatial std of Att_L' (against sqrt(eps) of
   the instance norm), the word-attention entropy and its largest weight;
3. Dice (%) with full text and with none, by the number of described
   lesions on the slice (1, 2, >= 3) and by target size (< 150, < 500,
   >= 500 pixels at native size).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import types

import torch

from .export import load_model
from .lsms.data import SegDataset, load_split, paste_logits, read_jsonl
from .lsms.losses import dice_iou
from .lsms.model import SVLA


def text_spread(model, items):
    ids = torch.stack([torch.as_tensor(it.ids) for it in items]).long()
    att = torch.stack([torch.as_tensor(it.attn) for it in items]).long()
    out = {}
    with torch.no_grad():
        lang = model.text(ids, att)
        words = lang[0][att[0].bool()]
        out["norm"] = float(words.norm(dim=-1).mean())
        out["spread"] = float((words - words.mean(0)).norm(dim=-1).mean())
        out["l1"] = {n: float((m(words) - m(words).mean(0)).norm(dim=-1).mean())
                     for n, m in model.named_modules() if n.endswith("attn.l1")}
    return out


def branch_stats(model, ds, k=4):
    stats = {}

    def fwd(self, v, lang, bias):
        b, c, h, w = v.shape
        pre = self.pre(v)
        att_v = self.units[0](pre)
        for u in self.units[1:]:
            att_v = att_v + u(pre)
        v1 = self.v1(pre).reshape(b, c, h * w).transpose(1, 2)
        attn = torch.softmax(torch.matmul(v1, self.l1(lang).transpose(1, 2)) * (1.0 / math.sqrt(self.cl)) + bias, -1)
        att_l = torch.matmul(attn, self.l2(lang)).transpose(1, 2).reshape(b, c, h, w)
        spread = float(att_l.std(dim=(2, 3)).mean())
        att_l = self.f(att_l)
        if self.pixelmap:
            att_l = att_l * self.v2(pre)
        ent = float(-(attn.clamp_min(1e-12).log() * attn).sum(-1).mean())
        stats[self._diag_name] = (float((pre + att_v).abs().mean()), float(att_l.abs().mean()), spread,
                                  ent, float(attn.max(-1).values.mean()))
        return self.mix(pre + att_v + att_l) * v

    saved = []
    for n, m in model.named_modules():
        if isinstance(m, SVLA):
            m._diag_name = n
            saved.append((m, m.forward))
            m.forward = types.MethodType(fwd, m)
    try:
        with torch.no_grad():
            x = [ds[i] for i in range(min(k, len(ds)))]
            model(torch.stack([a["image"] for a in x]), torch.stack([a["ids"] for a in x]),
                  torch.stack([a["attn"] for a in x]))
    finally:
        for m, f in saved:
            m.forward = f
    return stats


def dice_by_group(model, items, size, roi, lesions):
    ds = SegDataset(items, size, keep_full=True, roi=roi)
    by_n, by_size = {}, {}
    with torch.no_grad():
        for s in range(0, len(ds), 8):
            xs = [ds[i] for i in range(s, min(len(ds), s + 8))]
            lg = model(torch.stack([x["image"] for x in xs]), torch.stack([x["ids"] for x in xs]),
                       torch.stack([x["attn"] for x in xs]))
            for k, x in enumerate(xs):
                gt = x["mask_full"]
                p = (torch.sigmoid(paste_logits(lg[k:k + 1], gt.shape[-2], gt.shape[-1], roi)) > 0.5).float()
                d = float(dice_iou(p, gt[None])[0])
                n, area = lesions.get(items[s + k].key, (1, 0))
                by_n.setdefault(min(n, 3), []).append(d)
                by_size.setdefault("<150" if area < 150 else "<500" if area < 500 else ">=500", []).append(d)
    fmt = lambda g: {k: (len(v), round(100 * sum(v) / len(v), 1)) for k, v in sorted(g.items())}
    return fmt(by_n), fmt(by_size)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--size", type=int, default=0, help="input size (default: the checkpoint's)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, info = load_model(a.model)
    roi = info["roi"]
    size = a.size or info["size"] or 224
    lesions = {f"{r.get('case')}/{r.get('slice_index')}/{r.get('target_id')}":
               (len(r.get("lesions", [])) or 1, (r.get("target") or {}).get("area_px", 0))
               for r in read_jsonl(os.path.join(a.data, "manifest.jsonl"))}
    full = load_split(a.data, a.split, ["full"])[: a.n]
    t = text_spread(model, full[:4])
    print(f"text encoder: token norm {t['norm']:.3f}, spread across tokens {t['spread']:.4f}")
    for n, v in t["l1"].items():
        print(f"  {n:40s} omega_l1 spread {v:.4f}")
    print(f"{'SVLA':40s} {'|pre+attV|':>10s} {'|lang|':>8s} {'std attL':>9s} {'entropy':>8s} {'max att':>8s}")
    for n, s in branch_stats(model, SegDataset(full, size, roi=roi)).items():
        print(f"{n:40s} {s[0]:10.3f} {s[1]:8.3f} {s[2]:9.2e} {s[3]:8.3f} {s[4]:8.3f}")
    res = {}
    for lv in ("full", "none"):
        items = load_split(a.data, a.split, [lv])[: a.n]
        res[lv] = dice_by_group(model, items, size, roi, lesions)
        print(f"Dice % {lv:4s}: by lesions on the slice {res[lv][0]}  by target pixels {res[lv][1]}")
    return {"text": t, "dice": res}


if __name__ == "__main__":
    main()
