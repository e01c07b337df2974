"""Train LSMS.

    python3 -m train.train --config edge --data DIR --size 192 --batch 8 \\
        --epochs N --out CKPT_DIR [--resume] [--bert HF_DIR]

AdamW (weight decay 0.01), polynomial LR decay (power 0.9) per step, BCE +
Dice loss, seeded; checkpoints CKPT_DIR/last.pt hold model, optimizer,
scheduler, epoch/step and every RNG state, written atomically; --resume
continues from last.pt exactly where it stopped (same batches, same RNG).
Under torchrun (WORLD_SIZE > 1) it runs DistributedDataParallel, each rank
on its own shard of every epoch's permutation; rank 0 logs and saves.
Progress lines go to stdout and CKPT_DIR/log.jsonl.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .lsms.data import LEVELS, SegDataset, load_split, parse_roi
from .lsms.losses import bce_dice_loss
from .lsms.model import LSMS, LSMSConfig, get_config
from .lsms.safetensors import atomic_write
from .lsms.text import BertConfig, load_hf_bert


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="edge", help="paper | tiny | edge")
    ap.add_argument("--data", required=True, help="dataset directory (manifest.jsonl + tokens.jsonl)")
    ap.add_argument("--split", default="train", help="manifest split to train on ('all' for every record)")
    ap.add_argument("--levels", default="full,half,quarter", help="text levels to train on")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--batch", type=int, default=8, help="per-process batch size")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: epochs)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--power", type=float, default=0.9, help="polynomial decay power")
    ap.add_argument("--warmup", type=int, default=0, help="linear warm-up steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="checkpoint directory")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--save-every", type=int, default=0, help="checkpoint every N steps (0: every epoch)")
    ap.add_argument("--log-every", type=int, default=1)
    ap.add_argument("--bert", default="", help="HF BERT directory to initialise the text encoder")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--pos-weight", type=float, default=1.0, help="BCE weight of target pixels")
    ap.add_argument("--aux-weight", type=float, default=0.0,
                    help="weight of an auxiliary 'all lesions on the slice' loss on the decoder "
                         "features (a training-only 1x1 head, not part of the exported model)")
    ap.add_argument("--text-lr-mult", type=float, default=1.0,
                    help="learning-rate factor of the text encoder (0: frozen, as initialised)")
    ap.add_argument("--reinit-lang", action="store_true",
                    help="re-initialise the word projections omega_l1, omega_l2 (after --init/--bert)")
    ap.add_argument("--distractor-weight", type=float, default=1.0,
                    help="BCE weight of the pixels of the slice's other lesions (predicting a lesion "
                         "the expression does not name costs this much more than background)")
    ap.add_argument("--pairs", action="store_true",
                    help="batches of slice pairs: two expressions (two targets) of the same image per pair")
    ap.add_argument("--roi", default="",
                    help="x0,y0,x1,y1: crop this region (fractions of columns/rows) before resizing; "
                         "recorded in the checkpoint and the export")
    ap.add_argument("--extra-data", action="append", default=[], metavar="DIR",
                    help="more training data: this set's train split is added (its token ids "
                         "must come from the same vocabulary as --data's; repeatable)")
    ap.add_argument("--attn-coords", action="store_true",
                    help="every SVLA's omega_v1 also sees its stage's pixel-centre coordinates "
                         "(LSMSConfig.attn_coords); with --init from a model without them, their "
                         "weights start at zero (the same function)")
    ap.add_argument("--coord-lr-mult", type=float, default=1.0,
                    help="learning-rate factor (and no weight decay) of those coordinate weights")
    ap.add_argument("--augment", action="store_true",
                    help="random affine (scale, shift, rotation) and intensity jitter per training item")
    ap.add_argument("--init", default="", help="start from this checkpoint's model weights (fresh optimizer)")
    ap.add_argument("--coords", action="store_true",
                    help="coordinate input channels (LSMSConfig.coord_chans = 2); with --init from a model "
                         "without them, their stem weights start at zero (the same function)")
    ap.add_argument("--die-at-step", type=int, default=0, help=argparse.SUPPRESS)  # tests: SIGKILL itself
    return ap.parse_args(argv)


# --------------------------------------------------------------------------


def rng_state(device):
    s = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        s["cuda"] = torch.cuda.get_rng_state(device)
    return s


def set_rng_state(s, device):
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if device.type == "cuda" and "cuda" in s:
        torch.cuda.set_rng_state(s["cuda"], device)


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def epoch_batches(n: int, batch: int, seed: int, epoch: int, rank: int, world: int,
                  drop_last: bool = False):
    """This rank's batches of one epoch: a seeded permutation, padded to a
    multiple of world (wrapping around), then sharded rank::world. With
    drop_last an incomplete last batch is dropped (kept when it is the only
    one): a changing batch shape costs oneDNN a re-plan every epoch."""
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + epoch)
    perm = torch.randperm(n, generator=g).tolist()
    if world > 1 and len(perm) % world:
        perm += perm[: world - len(perm) % world]
    mine = perm[rank::world]
    out = [mine[i:i + batch] for i in range(0, len(mine), batch)]
    if drop_last and len(out) > 1 and len(out[-1]) < batch:
        out.pop()
    return out


def pair_batches(keys, batch: int, seed: int, epoch: int, rank: int, world: int):
    """This rank's batches of one epoch in pairs (--pairs): every slice once
    per epoch, as two items of the same image naming two different target
    lesions (a random level each) when the slice has two or more, or two
    levels of its one target otherwise. A pair sits in one batch, so the
    loss sees the same pixels with two expressions and two answers: the text
    is the only way to get both right. keys[i] = "case/slice/target" of item
    i. Seeded per epoch like epoch_batches; the last incomplete batch is
    dropped."""
    if batch % 2:
        raise ValueError(f"--pairs needs an even batch size, got {batch}")
    by_slice = {}
    for i, k in enumerate(keys):
        case, sl, tgt = k.split("/")
        by_slice.setdefault((case, sl), {}).setdefault(tgt, []).append(i)
    slices = sorted(by_slice)
    r = random.Random(seed * 1000003 + epoch)
    r.shuffle(slices)
    units = []
    for s in slices:
        tg = by_slice[s]
        names = sorted(tg)
        if len(names) >= 2:
            a, b = r.sample(names, 2)
            units.append((r.choice(tg[a]), r.choice(tg[b])))
        else:
            ix = tg[names[0]]
            units.append(tuple(r.sample(ix, 2)) if len(ix) >= 2 else (ix[0], ix[0]))
    units = units[rank::world]
    per = batch // 2
    out = [[i for u in units[j:j + per] for i in u] for j in range(0, len(units), per)]
    if len(out) > 1 and len(out[-1]) < batch:
        out.pop()
    return out


def collate(ds, idx, device):
    xs = [ds[i] for i in idx]
    return {k: torch.stack([x[k] for x in xs]).to(device) for k in ("image", "mask", "ids", "attn", "lesions")}


def check_same_vocab(a: str, b: str):
    """Token ids of two dataset directories are interchangeable: same
    vocab_size/pad/cls/sep in tokens.json and, where both have one, the same
    vocab.txt."""
    def meta(d):
        with open(os.path.join(d, "tokens.json")) as f:
            m = json.load(f)
        return {k: m.get(k) for k in ("vocab_size", "pad_id", "cls_id", "sep_id")}
    ma, mb = meta(a), meta(b)
    if ma != mb:
        raise ValueError(f"{b}: tokens.json {mb} differs from {a}'s {ma}")
    va, vb = os.path.join(a, "vocab.txt"), os.path.join(b, "vocab.txt")
    if os.path.exists(va) and os.path.exists(vb):
        with open(va, "rb") as f, open(vb, "rb") as g:
            if f.read() != g.read():
                raise ValueError(f"{vb} differs from {va}: tokenize both sets with one vocabulary")


def augment_batch(b: dict, g: torch.Generator, scale=0.1, shift=0.06, rot_deg=6.0,
                  gain=0.1, bias=0.05, noise=0.02):
    """Training-only augmentation, in place, one draw per item: a random
    affine (scale 1±scale, shift ±shift of the half-width, rotation
    ±rot_deg; no flips: left/right and the Couinaud segments are what the
    text names) applied alike to image, target and lesion masks (masks:
    bilinear then >= 0.5; outside the slice: 0), then intensity gain 1±gain,
    offset ±bias and Gaussian noise of std noise on the [0, 1] image."""
    img = b["image"]
    n = img.shape[0]
    u = lambda: torch.rand(n, generator=g) * 2 - 1  # noqa: E731
    s = 1 + scale * u()
    th = torch.deg2rad(rot_deg * u())
    tx, ty = shift * u(), shift * u()
    theta = torch.stack([torch.stack([s * torch.cos(th), -s * torch.sin(th), tx], 1),
                         torch.stack([s * torch.sin(th), s * torch.cos(th), ty], 1)], 1).to(img)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    warp = lambda x: F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # noqa: E731
    ga, bi = 1 + gain * u(), bias * u()
    b["image"] = (warp(img) * ga.view(n, 1, 1, 1).to(img) + bi.view(n, 1, 1, 1).to(img)
                  + noise * torch.randn(img.shape, generator=g).to(img))
    b["mask"] = (warp(b["mask"]) >= 0.5).to(img)
    b["lesions"] = (warp(b["lesions"]) >= 0.5).to(img)


class AuxHead(torch.nn.Module):
    """Training-only: 'every lesion on the slice' logits from the Hamburger's
    output (a forward hook captures it), up-sampled to the input size. It
    gives the encoder a text-independent signal (find lesions at all) next to
    the referring one; it is saved in checkpoints under "aux" and never
    exported."""

    def __init__(self, model):
        super().__init__()
        self.conv = torch.nn.Conv2d(model.cfg.ham_channels, 1, 1)
        self.feat = None
        model.vision.decoder.hamburger.register_forward_hook(self._hook)

    def _hook(self, mod, inp, out):
        self.feat = out

    def forward(self, size):
        y = self.conv(self.feat)
        self.feat = None
        return torch.nn.functional.interpolate(y, size=size, mode="bilinear", align_corners=False)


def poly_lambda(total: int, power: float, warmup: int):
    def f(step):
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, 1.0 - step / max(1, total)) ** power
    return f


def save_checkpoint(path, model, opt, sched, cfg, args, epoch, step, device, aux=None):
    state = {
        "aux": aux.state_dict() if aux is not None else None,
        "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "epoch": epoch, "step": step, "rng": rng_state(device), "config": cfg.to_dict(),
        "args": vars(args), "format": "lsms-ckpt/v1",
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(path, buf.getvalue())


def build_config(args) -> LSMSConfig:
    """Named config; the text encoder's vocabulary and [PAD] id come from the
    data's tokens.json, or everything text-side from --bert's config.json."""
    cfg = get_config(args.config)
    if args.bert:
        with open(os.path.join(args.bert, "config.json")) as f:
            cfg.text = BertConfig.from_hf(json.load(f))
        cfg.text_dim = cfg.text.hidden_size
    else:
        with open(os.path.join(args.data, "tokens.json")) as f:
            meta = json.load(f)
        cfg.text.vocab_size = int(meta["vocab_size"])
        cfg.text.pad_token_id = int(meta.get("pad_id", 0))
    if getattr(args, "coords", False):
        cfg.coord_chans = 2
    if getattr(args, "attn_coords", False):
        cfg.attn_coords = True
    return cfg


def load_init(model: torch.nn.Module, state: dict) -> None:
    """Load --init's weights. A conv weight with fewer input channels than
    the model's (a model without coordinate channels) fills the first ones;
    the others start at zero, so the model computes what --init's did; so
    do the SVLAs' coordinate weights (v1_xy) when --init has none."""
    own = model.state_dict()
    state = dict(state)
    for k, o in own.items():
        if k.endswith(".v1_xy.weight") and k not in state:
            state[k] = torch.zeros_like(o)
    for k, v in state.items():
        o = own.get(k)
        if (o is not None and o.dim() == 4 and v.dim() == 4 and o.shape[0] == v.shape[0]
                and o.shape[2:] == v.shape[2:] and o.shape[1] > v.shape[1]):
            w = torch.zeros_like(o)
            w[:, :v.shape[1]] = v
            state[k] = w
    model.load_state_dict(state)


def main(argv=None):
    args = parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if args.device == "auto":
        dev_type = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        dev_type = args.device
    device = torch.device(dev_type, local_rank) if dev_type == "cuda" else torch.device("cpu")
    if dev_type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if dev_type == "cuda" else "gloo")
    if args.threads:
        torch.set_num_threads(args.threads)
    main_proc = rank == 0

    def log(rec):
        if not main_proc:
            return
        line = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in rec.items())
        print(line, flush=True)
        with open(os.path.join(args.out, "log.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    os.makedirs(args.out, exist_ok=True)
    levels = [s for s in args.levels.split(",") if s]
    for lv in levels:
        if lv not in LEVELS:
            sys.exit(f"unknown level {lv!r} (one of {', '.join(LEVELS)})")
    items = load_split(args.data, args.split, levels)
    if not items:
        sys.exit(f"{args.data}: no records in split {args.split!r} at levels {levels}")
    for j, extra in enumerate(args.extra_data):
        try:
            check_same_vocab(args.data, extra)
        except ValueError as e:
            sys.exit(f"--extra-data: {e}")
        more = load_split(extra, "train", levels)
        if not more:
            sys.exit(f"--extra-data {extra}: no train records at levels {levels}")
        for it in more:  # keys stay unique across sets (case names repeat)
            it.key = f"x{j}-{it.key}"
        items += more
    ds = SegDataset(items, args.size, roi=parse_roi(args.roi))
    keys = [it.key for it in items]

    def batches_of(epoch):
        if args.pairs:
            return pair_batches(keys, args.batch, args.seed, epoch, rank, world)
        return epoch_batches(len(ds), args.batch, args.seed, epoch, rank, world, True)

    ckpt_path = os.path.join(args.out, "last.pt")
    resume = None
    if args.resume:
        if not os.path.exists(ckpt_path):
            sys.exit(f"--resume: {ckpt_path} does not exist")
        resume = torch.load(ckpt_path, map_location="cpu")
        cfg = LSMSConfig.from_dict(resume["config"])
    else:
        cfg = build_config(args)
    if max(int(x.max()) for x in (it.ids for it in items)) >= cfg.text.vocab_size:
        sys.exit("token ids exceed the text encoder's vocabulary")
    if max(len(it.ids) for it in items) > cfg.text.max_position_embeddings:
        sys.exit(f"token length T exceeds max_position_embeddings={cfg.text.max_position_embeddings}")

    seed_all(args.seed + rank)
    model = LSMS(cfg)
    if args.init and resume is None:
        load_init(model, torch.load(args.init, map_location="cpu")["model"])
    if args.bert and resume is None:  # after --init: the text encoder comes from --bert
        model.text.load_state_dict(load_hf_bert(args.bert).state_dict())
    if args.reinit_lang and resume is None:
        # the word projections omega_l1, omega_l2 start afresh (e.g. with
        # another text encoder than --init's)
        for n, mod in model.named_modules():
            if n.endswith((".attn.l1", ".attn.l2")):
                torch.nn.init.trunc_normal_(mod.weight, std=0.02)
                torch.nn.init.zeros_(mod.bias)
    aux = AuxHead(model) if args.aux_weight > 0 else None
    if aux is not None:
        aux.to(device)
    model.to(device)
    if world > 1 and dev_type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if dev_type == "cuda" else None)

    decay, no_decay, text_decay, text_no_decay, coord = [], [], [], [], []
    for n, p in model.named_parameters():
        if n.endswith(".v1_xy.weight"):
            coord.append(p)
            continue
        plain = p.ndim <= 1 or "norm" in n.lower() or "embeddings" in n  # no weight decay
        if n.startswith("text.") and args.text_lr_mult != 1:
            if args.text_lr_mult == 0:
                p.requires_grad_(False)
            else:
                (text_no_decay if plain else text_decay).append(p)
            continue
        (no_decay if plain else decay).append(p)
    if aux is not None:
        decay.append(aux.conv.weight)
        no_decay.append(aux.conv.bias)
    groups = [{"params": decay, "weight_decay": args.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if text_decay or text_no_decay:
        tl = args.lr * args.text_lr_mult
        groups += [{"params": text_decay, "weight_decay": args.weight_decay, "lr": tl},
                   {"params": text_no_decay, "weight_decay": 0.0, "lr": tl}]
    if coord:
        groups.append({"params": coord, "weight_decay": 0.0, "lr": args.lr * args.coord_lr_mult})
    opt = torch.optim.AdamW(groups, lr=args.lr)
    spe = len(batches_of(0))
    total = args.max_steps if args.max_steps else args.epochs * spe
    sched = torch.optim.lr_scheduler.LambdaLR(opt, poly_lambda(total, args.power, args.warmup))

    step = 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        if aux is not None and resume.get("aux"):
            aux.load_state_dict(resume["aux"])
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        step = int(resume["step"])
        set_rng_state(resume["rng"], device)
        log({"event": "resume", "step": step, "epoch": int(resume["epoch"]), "from": ckpt_path})
        del resume
    else:
        log({"event": "start", "config": cfg.name, "records": len(ds), "steps_per_epoch": spe,
             "total_steps": total, "params": sum(p.numel() for p in model.parameters()),
             "world": world, "device": str(device), "threads": torch.get_num_threads()})

    model.train()
    if args.text_lr_mult == 0:
        model.text.eval()  # frozen: no dropout either
    epoch = step // spe
    t_last = time.perf_counter()
    done = step >= total
    while not done:
        batches = batches_of(epoch)
        for bi in range(step - epoch * spe, len(batches)):
            b = collate(ds, batches[bi], device)
            if args.augment:
                augment_batch(b, torch.Generator().manual_seed(args.seed * 1000003 + step * 7 + rank))
            logits = net(b["image"], b["ids"], b["attn"])
            loss, bce, dice = bce_dice_loss(logits, b["mask"], pos_weight=args.pos_weight,
                                            distractors=b["lesions"], distractor_weight=args.distractor_weight)
            aux_loss = None
            if aux is not None:
                aux_loss, _, _ = bce_dice_loss(aux(logits.shape[2:]), b["lesions"],
                                               pos_weight=args.pos_weight)
                loss = loss + args.aux_weight * aux_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % args.log_every == 0 or step == total:
                now = time.perf_counter()
                log({"step": step, "epoch": epoch, "loss": float(loss), "bce": float(bce),
                     "dice_loss": float(dice),
                     **({"aux_loss": float(aux_loss)} if aux_loss is not None else {}), "lr": float(opt.param_groups[0]["lr"]),
                     "s_per_step": (now - t_last) / args.log_every})
                t_last = now
            end_of_epoch = bi == len(batches) - 1
            save = (args.save_every and step % args.save_every == 0) or \
                   (not args.save_every and end_of_epoch) or step == total
            if save and main_proc:
                save_checkpoint(ckpt_path, model, opt, sched, cfg, args,
                                epoch + (1 if end_of_epoch else 0), step, device, aux)
            if args.die_at_step and step == args.die_at_step:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            if step >= total:
                done = True
                break
        epoch += 1
    log({"event": "done", "step": step})
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
