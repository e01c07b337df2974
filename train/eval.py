"""Evaluate LSMS: Dice and mIoU per text level, as a markdown table.

    python3 -m train.eval --model CKPT_DIR/last.pt|DIR/lsms.safetensors \\
        --data DIR [--split val] [--size 192] [--levels full,half,quarter,none] \\
        [--out results.md]

Per image: logits are resized (bilinear) to the slice's own size, sigmoid >
0.5 gives the prediction, Dice = 2|P∩G|/(|P|+|G|) and IoU = |P∩G|/|P∪G|
(both 1 when P and G are empty). Dice and mIoU are the means over images.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from .export import load_model
from .lsms.data import LEVELS, SegDataset, load_split, parse_roi, paste_logits
from .lsms.losses import dice_iou


@torch.no_grad()
def predict_masks(model, items, size: int, batch: int = 8, threshold: float = 0.5, device="cpu", roi=None):
    """Yields (prediction, ground truth) per item, both [1,H,W] at the
    slice's own size: logits pasted back into the region of interest,
    sigmoid > threshold."""
    ds = SegDataset(items, size, keep_full=True, roi=roi)
    for s in range(0, len(ds), batch):
        xs = [ds[i] for i in range(s, min(len(ds), s + batch))]
        logits = model(torch.stack([x["image"] for x in xs]).to(device),
                       torch.stack([x["ids"] for x in xs]).to(device),
                       torch.stack([x["attn"] for x in xs]).to(device)).float().cpu()
        for k, x in enumerate(xs):
            gt = x["mask_full"]
            lg = paste_logits(logits[k:k + 1], gt.shape[-2], gt.shape[-1], roi)
            yield (torch.sigmoid(lg) > threshold).float()[0], gt


@torch.no_grad()
def evaluate(model, items, size: int, batch: int = 8, threshold: float = 0.5, device="cpu", roi=None):
    dices, ious = [], []
    for pred, gt in predict_masks(model, items, size, batch, threshold, device, roi):
        d, i = dice_iou(pred[None], gt[None])
        dices.append(float(d))
        ious.append(float(i))
    n = len(dices)
    return {"n": n, "dice": sum(dices) / max(1, n), "miou": sum(ious) / max(1, n)}


@torch.no_grad()
def swap_test(model, items, size: int, batch: int = 8, threshold: float = 0.5, device="cpu", roi=None):
    """The expression-swap test: on slices with two or more described
    lesions, each lesion's own expression must move the prediction onto it
    (IoU >= 0.5 with that lesion's mask). Counted per ordered pair (A -> B)
    of distinct target lesions on the same slice: the pair succeeds when the
    prediction for B's expression has IoU >= 0.5 with B. Also reports the
    fraction of pairs where the prediction for B overlaps A more than B
    (the model kept pointing at the old lesion)."""
    by_slice = {}
    for i, it in enumerate(items):
        case, sl, _ = it.key.split("/")
        by_slice.setdefault((case, sl), []).append(i)
    multi = [ix for ix in by_slice.values() if len(ix) >= 2]
    idx = [i for ix in multi for i in ix]
    preds = dict(zip(idx, predict_masks(model, [items[i] for i in idx], size, batch, threshold, device, roi)))
    pairs = ok = stuck = 0
    kinds = {k: 0 for k in SWAP_KINDS}
    for ix in multi:
        for b in ix:
            pb = preds[b][0]
            ious = {j: float(dice_iou(pb[None], preds[j][1][None])[1]) for j in ix}
            kind = swap_kind(ious, b)
            for a in ix:
                if a == b:
                    continue
                pairs += 1
                ok += ious[b] >= 0.5
                stuck += ious[a] > ious[b]
                kinds[kind] += 1
    out = {"slices": len(multi), "pairs": pairs, "moved": ok / max(1, pairs), "stuck": stuck / max(1, pairs)}
    out.update({k: v / max(1, pairs) for k, v in kinds.items()})
    return out


# Where a swap's prediction went: onto the named lesion (IoU >= 0.5), onto it
# but too coarse or too small (it is the lesion overlapped most, IoU < 0.5),
# onto another described lesion (overlapped more than the named one), or
# onto none of the slice's described lesions (empty, or elsewhere).
SWAP_KINDS = ("on_target", "target_coarse", "other_lesion", "no_lesion")


def swap_kind(ious: dict, b) -> str:
    """Classify one prediction by its IoU with every described lesion on
    the slice (ious: lesion -> IoU; b: the lesion its expression names)."""
    if ious[b] >= 0.5:
        return "on_target"
    best = max(ious.values())
    if best <= 0:
        return "no_lesion"
    return "target_coarse" if ious[b] >= best else "other_lesion"


def table(rows, title: str) -> str:
    out = [f"### {title}", "", "| text level | images | Dice (%) | mIoU (%) |", "|---|---|---|---|"]
    for lv, r in rows:
        out.append(f"| {lv} | {r['n']} | {100 * r['dice']:.2f} | {100 * r['miou']:.2f} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint .pt or export .safetensors")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--levels", default=",".join(LEVELS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--out", default="", help="markdown file (default: stdout only)")
    ap.add_argument("--swap", action="store_true", help="also run the expression-swap test (level full)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many records per level (0: all)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--roi", default="auto",
                    help="x0,y0,x1,y1 crop (fractions); 'auto': the one the model was trained/exported with")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, info = load_model(a.model)
    model = model.to(device)
    roi = info["roi"] if a.roi == "auto" else parse_roi(a.roi)
    rows = []
    for lv in [s for s in a.levels.split(",") if s]:
        if lv not in LEVELS:
            sys.exit(f"unknown level {lv!r}")
        items = load_split(a.data, a.split, [lv])
        if a.limit:
            items = items[: a.limit]
        if items:
            rows.append((lv, evaluate(model, items, a.size, a.batch, a.threshold, device, roi)))
    where = f", roi {','.join(f'{v:g}' for v in roi)}" if roi else ""
    md = table(rows, f"{os.path.basename(a.model)} on {a.data} ({a.split}, {a.size}x{a.size}{where}, "
                     f"threshold {a.threshold})")
    if a.swap:
        sw = swap_test(model, load_split(a.data, a.split, ["full"]), a.size, a.batch, a.threshold, device, roi)
        md += (f"\nExpression swap ({a.split}, full text): {sw['pairs']} ordered pairs of target lesions on "
               f"{sw['slices']} slices with two or more; prediction moved to the named lesion (IoU >= 0.5) in "
               f"{100 * sw['moved']:.1f} % of pairs; stayed closer to the previous lesion in {100 * sw['stuck']:.1f} %. "
               f"Where the other predictions went: onto the named lesion but with IoU < 0.5 (it is the lesion "
               f"overlapped most) {100 * sw['target_coarse']:.1f} %, onto another described lesion "
               f"{100 * sw['other_lesion']:.1f} %, onto none of them {100 * sw['no_lesion']:.1f} %.\n")
    print(md, end="")
    if a.out:
        with open(a.out, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
