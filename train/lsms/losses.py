"""BCE + Dice loss and the evaluation metrics."""

import torch
import torch.nn.functional as F


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice on sigmoid probabilities, per image, averaged over the batch."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    return (1.0 - (2.0 * inter + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()


def bce_dice_loss(logits, target, bce_weight: float = 1.0, dice_weight: float = 1.0,
                  pos_weight: float = 1.0, distractors=None, distractor_weight: float = 1.0):
    """BCE (target pixels weighted pos_weight; with distractors, a {0,1} map
    of the other lesions on the slice, their pixels weighted
    distractor_weight) + soft Dice."""
    pw = None if pos_weight == 1.0 else torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    w = None
    if distractors is not None and distractor_weight != 1.0:
        w = 1.0 + (distractor_weight - 1.0) * distractors * (1.0 - target)
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=w, pos_weight=pw)
    dice = dice_loss(logits, target)
    return bce_weight * bce + dice_weight * dice, bce.detach(), dice.detach()


def dice_iou(pred: torch.Tensor, gt: torch.Tensor):
    """Hard Dice and IoU per image ([B,...] {0,1}); both empty counts as 1."""
    pred = pred.flatten(1).float()
    gt = gt.flatten(1).float()
    inter = (pred * gt).sum(1)
    ps, gs = pred.sum(1), gt.sum(1)
    union = ps + gs - inter
    empty = (ps + gs) == 0
    dice = torch.where(empty, torch.ones_like(inter), 2 * inter / (ps + gs).clamp(min=1e-9))
    iou = torch.where(empty, torch.ones_like(inter), inter / union.clamp(min=1e-9))
    return dice, iou
