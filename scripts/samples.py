#!/usr/bin/env python3
"""Pick the shipped demo samples from the synthetic set's test split.

    python3 scripts/samples.py data/refct samples 8

Chooses N test-split records, each from a different case, preferring slices
with several lesions and covering every lesion type; copies their slice and
mask PNGs and writes samples/manifest.jsonl (same record format, paths
relative to samples/).
"""
import json
import os
import shutil
import sys

src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs = [json.loads(l) for l in open(os.path.join(src, "manifest.jsonl")) if l.strip()]
test = [r for r in recs if r["split"] == "test"]
# many lesions first, then larger targets; deterministic order
test.sort(key=lambda r: (-len(r["lesions"]), -r["target"]["diameter_mm"], r["case"], r["slice_index"], r["target_id"]))
picked, cases, types = [], set(), set()
for want_new_type in (True, False):
    for r in test:
        if len(picked) >= n:
            break
        if r["case"] in cases or r["target"]["diameter_mm"] < 10:
            continue
        if want_new_type and r["target"]["type"] in types:
            continue
        picked.append(r)
        cases.add(r["case"])
        types.add(r["target"]["type"])
os.makedirs(os.path.join(dst, "images"), exist_ok=True)
os.makedirs(os.path.join(dst, "masks"), exist_ok=True)
with open(os.path.join(dst, "manifest.jsonl"), "w") as f:
    for r in picked:
        for k in ("image", "mask"):
            name = f"{r['case']}_{os.path.basename(r[k])}"
            shutil.copyfile(os.path.join(src, r[k]), os.path.join(dst, k + "s", name))
            r[k] = f"{k}s/{name}"
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
print(f"{len(picked)} samples: " + ", ".join(f"{r['case']} {r['target']['type']}" for r in picked))
