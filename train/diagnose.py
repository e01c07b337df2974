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
   >= 500 pixels at native size);
4. whether the named segment steers the prediction: the mean cosine of the
   text encoder's outputs for the nine segment names in one sentence, and,
   for ordered pairs (A, B) of lesions in different segments on one slice
   of the split, B's full expression with only its segment name replaced
   by A's: of the pairs whose unedited expression found B (IoU >= 0.5),
   how many edited predictions land on A, stay on B, or on neither.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import types

import numpy as np
import torch

from .eval import predict_masks
from .export import load_model
from .lsms.data import SegDataset, load_split, read_jsonl
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
    by_n, by_size = {}, {}
    for it, (p, gt) in zip(items, predict_masks(model, items, size, roi=roi)):
        d = float(dice_iou(p[None], gt[None])[0])
        n, area = lesions.get(it.key, (1, 0))
        by_n.setdefault(min(n, 3), []).append(d)
        by_size.setdefault("<150" if area < 150 else "<500" if area < 500 else ">=500", []).append(d)
    fmt = lambda g: {k: (len(v), round(100 * sum(v) / len(v), 1)) for k, v in sorted(g.items())}
    return fmt(by_n), fmt(by_size)


SEGMENTS = ("i", "ii", "iii", "iva", "ivb", "v", "vi", "vii", "viii")


def segment_span(ids, vocab):
    """(start, end) of the segment name after the word "segment" in a token
    id sequence (the name's word pieces included), or None."""
    ids = [int(t) for t in ids]
    for i, t in enumerate(ids[:-1]):
        if vocab[t] == "segment":
            k = i + 2
            while k < len(ids) and vocab[ids[k]].startswith("##"):
                k += 1
            return i + 1, k
    return None


def replace_segment(ids, attn, other, vocab):
    """ids/attn of an expression with its segment name replaced by the one
    in `other` (same length, padded); None if either names no segment, both
    name the same or the result does not fit."""
    sa, sb = segment_span(other, vocab), segment_span(ids, vocab)
    if sa is None or sb is None:
        return None
    new = [int(t) for t in other[sa[0]:sa[1]]]
    old = [int(t) for t in ids[sb[0]:sb[1]]]
    if new == old:
        return None
    T, n = len(ids), int(sum(int(x) for x in attn)) + len(new) - len(old)
    if n > T:
        return None
    out = [int(t) for t in ids[:sb[0]]] + new + [int(t) for t in ids[sb[1]:]]
    return np.array((out + [0] * T)[:T]), np.array([1] * n + [0] * (T - n))


def segment_probe(model, items, size, roi, vocab):
    """Section 4 of the module doc: (cosine, counts)."""
    V = {w: i for i, w in enumerate(vocab)}
    cos = None
    if all(w in V for w in ("[CLS]", "[SEP]", "segment", "a", "cyst", "in") + SEGMENTS):
        outs = []
        with torch.no_grad():
            for sg in SEGMENTS:
                ids = torch.tensor([[V["[CLS]"], V["a"], V["cyst"], V["in"], V["segment"], V[sg], V["[SEP]"]]])
                outs.append(model.text(ids, torch.ones_like(ids))[0, 5])
        f = torch.nn.functional.normalize(torch.stack(outs), dim=1)
        c = f @ f.T
        cos = float(c[~torch.eye(len(SEGMENTS), dtype=torch.bool)].mean())
    by = {}
    for i, it in enumerate(items):
        by.setdefault(it.key.rsplit("/", 1)[0], []).append(i)
    cases = []
    for ix in by.values():
        for b in ix:
            for a in ix:
                if a != b:
                    r = replace_segment(items[b].ids, items[b].attn, items[a].ids, vocab)
                    if r is not None:
                        cases.append((dataclasses.replace(items[b], ids=r[0], attn=r[1]), a, b))

    def predict(its):
        return [p[None] for p, _ in predict_masks(model, its, size, roi=roi)]

    def gt(i):
        return torch.from_numpy((np.asarray(items[i].mask) > 0).astype(np.float32))[None, None]

    counts = {"pairs": len(cases), "unedited_found_B": 0, "edited_on_A": 0, "edited_on_B": 0, "edited_neither": 0}
    for (_, a, b), p, q in zip(cases, predict([c[0] for c in cases]), predict([items[c[2]] for c in cases])):
        if float(dice_iou(q, gt(b))[1]) < 0.5:
            continue
        counts["unedited_found_B"] += 1
        if float(dice_iou(p, gt(a))[1]) >= 0.5:
            counts["edited_on_A"] += 1
        elif float(dice_iou(p, gt(b))[1]) >= 0.5:
            counts["edited_on_B"] += 1
        else:
            counts["edited_neither"] += 1
    return cos, counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--size", type=int, default=0, help="input size (default: the checkpoint's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--segment-probe", action="store_true", help="only section 4, on the whole split")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, info = load_model(a.model)
    roi = info["roi"]
    size = a.size or info["size"] or 224
    lesions = {f"{r.get('case')}/{r.get('slice_index')}/{r.get('target_id')}":
               (len(r.get("lesions", [])) or 1, (r.get("target") or {}).get("area_px", 0))
               for r in read_jsonl(os.path.join(a.data, "manifest.jsonl"))}
    if a.segment_probe:
        with open(os.path.join(a.data, "vocab.txt")) as f:
            vocab = [l.rstrip("\n") for l in f]
        cos, c = segment_probe(model, load_split(a.data, a.split, ["full"]), size, roi, vocab)
        print(f"segment names: mean cosine of the text encoder's outputs {cos:.4f}" if cos is not None
              else "segment names: not all in the vocabulary")
        n = max(1, c["unedited_found_B"])
        print(f"segment-name swap: {c['pairs']} ordered pairs in different segments, {c['unedited_found_B']} "
              f"found their lesion unedited; edited: on the other lesion {100 * c['edited_on_A'] / n:.1f} %, "
              f"still on the named one {100 * c['edited_on_B'] / n:.1f} %, neither {100 * c['edited_neither'] / n:.1f} %")
        return {"segment_cosine": cos, "segment_swap": c}
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
