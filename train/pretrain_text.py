"""Pre-train the small text encoder with masked-language modelling on the
training expressions (the stand-in for a pretrained BERT, which is not
reachable here), and write it as a HuggingFace-style checkpoint that
`train.train --bert DIR` loads.

    train/py -m train.pretrain_text --data DIR --config edge --out DIR/bert \\
        [--steps 3000] [--batch 128]

The token ids come from DIR/tokens.jsonl (the Go tokenizer), split "train"
only, every level; [MASK] is looked up in DIR/vocab.txt. BERT's recipe:
15 % of the word tokens (not [CLS]/[SEP]/padding) are predicted; of those
80 % become [MASK], 10 % a random word, 10 % stay. The prediction head
(dense + GELU + LayerNorm + decoder tied to the word embeddings) is
dropped on save. Prints the masked-token accuracy on the val split.

Why (DESIGN.md, "Text encoder"): trained only through the segmentation
loss, a from-scratch encoder collapsed — its last LayerNorm drove every
token to the same vector, so the word attention became uniform and the
language branch carried nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .lsms.data import TokenTable, read_jsonl
from .lsms.model import get_config
from .lsms.text import BertModel, save_hf_bert


class MLMHead(nn.Module):
    def __init__(self, bert: BertModel):
        super().__init__()
        h = bert.config.hidden_size
        self.dense = nn.Linear(h, h)
        self.norm = nn.LayerNorm(h, eps=bert.config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(bert.config.vocab_size))
        self.emb = bert.embeddings.word_embeddings  # tied

    def forward(self, x):
        return F.linear(self.norm(F.gelu(self.dense(x))), self.emb.weight, self.bias)


def load_ids(root: str, split: str):
    man = read_jsonl(os.path.join(root, "manifest.jsonl"))
    tok = TokenTable(root)
    rows = [(np.asarray(e["ids"]), np.asarray(e.get("attention_mask") or [int(t != 0) for t in e["ids"]]))
            for (rec, _lv), e in sorted(tok.entries.items()) if man[rec].get("split") == split]
    ids = torch.as_tensor(np.stack([r[0] for r in rows]), dtype=torch.long)
    att = torch.as_tensor(np.stack([r[1] for r in rows]), dtype=torch.long)
    return ids, att, tok.meta


def mask_tokens(ids, att, meta, mask_id, vocab, g):
    special = (ids == int(meta["cls_id"])) | (ids == int(meta["sep_id"])) | (att == 0)
    pick = (torch.rand(ids.shape, generator=g) < 0.15) & ~special
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=g)
    x = ids.clone()
    x[pick & (r < 0.8)] = mask_id
    rnd = pick & (r >= 0.8) & (r < 0.9)
    x[rnd] = torch.randint(5, vocab, (int(rnd.sum()),), generator=g)
    return x, labels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", default="edge")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    ids, att, meta = load_ids(a.data, "train")
    vids, vatt, _ = load_ids(a.data, "val")
    with open(os.path.join(a.data, "vocab.txt")) as f:
        vocab = [w.rstrip("\n") for w in f]
    mask_id = vocab.index("[MASK]")
    cfg = get_config(a.config, vocab_size=int(meta["vocab_size"])).text
    cfg.pad_token_id = int(meta.get("pad_id", 0))
    bert = BertModel(cfg)
    head = MLMHead(bert)
    params = list(bert.parameters()) + [p for n, p in head.named_parameters() if not n.startswith("emb.")]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 200) * max(0.0, 1 - s / a.steps) ** 0.9)
    g = torch.Generator().manual_seed(a.seed)

    def accuracy(x_ids, x_att, n=2000):
        bert.eval()
        with torch.no_grad():
            gv = torch.Generator().manual_seed(1)
            x, lab = mask_tokens(x_ids[:n], x_att[:n], meta, mask_id, len(vocab), gv)
            pred = head(bert(x, x_att[:n])).argmax(-1)
            sel = lab != -100
            acc = float((pred[sel] == lab[sel]).float().mean())
        bert.train()
        return acc

    bert.train()
    losses = []
    for step in range(a.steps):
        ix = torch.randint(0, len(ids), (a.batch,), generator=g)
        x, lab = mask_tokens(ids[ix], att[ix], meta, mask_id, len(vocab), g)
        logits = head(bert(x, att[ix]))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss))
        if (step + 1) % 250 == 0 or step + 1 == a.steps:
            print(f"step {step + 1} loss {float(loss):.4f} val masked-token accuracy {accuracy(vids, vatt):.4f}",
                  flush=True)
    save_hf_bert(bert.eval(), a.out)
    with open(os.path.join(a.out, "pretrain.json"), "w") as f:
        json.dump({"steps": a.steps, "batch": a.batch, "lr": a.lr, "seed": a.seed,
                   "train_expressions": len(ids), "val_masked_accuracy": accuracy(vids, vatt)}, f, indent=1)
    print(f"wrote {a.out}")
    k = max(1, min(10, len(losses) // 4))
    return {"loss_first": sum(losses[:k]) / k, "loss_last": sum(losses[-k:]) / k}


if __name__ == "__main__":
    main()
