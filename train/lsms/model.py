"""LSMS: Language-guided Scale-aware MedSegmentor (Ouyang et al., 2024).

Vision-language encoder (four stages of blocks built around SVLA) and the
Full-Scale Decoder (position alignment + light Hamburger/NMF + Seg). Every
operation maps onto a TFLite builtin: CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED / BATCH_MATMUL, SOFTMAX, GELU, MEAN / SQUARED_DIFFERENCE /
RSQRT (instance norm), MUL / ADD / DIV, RESIZE_BILINEAR, CONCATENATION,
RELU. BatchNorm folds into the preceding convolution (or a MUL+ADD). The NMF
runs a fixed number of multiplicative updates from fixed (buffer) bases.

Choices the paper leaves open are documented in train/DESIGN.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .text import BertConfig, BertModel

# Additive bias for masked (padding) words before the softmax over words.
# exp(-1e4 + O(10)) underflows to exactly 0 in float32, so padding words get
# exactly zero weight, and the value stays representable after quantization.
MASK_BIAS = -1.0e4


@dataclass
class LSMSConfig:
    name: str = "custom"
    in_chans: int = 1
    widths: Tuple[int, ...] = (64, 128, 320, 512)
    depths: Tuple[int, ...] = (3, 3, 5, 2)
    mlp_ratios: Tuple[int, ...] = (8, 8, 4, 4)
    kernels: Tuple[int, ...] = (7, 11, 21)  # ConvUnit strip lengths d_j
    pre_kernel: int = 5  # depthwise Conv5x5 -> V_pre
    text_dim: int = 768  # C_l (BERT hidden size)
    pixelmap: bool = True  # the (.) V2 product of the language branch
    dec_stages: Tuple[int, ...] = (1, 2, 3)  # 0-based stages feeding the FSD (S2, S3, S4)
    dec_scale: int = 4  # decoder resolution = input / dec_scale (stage-1 size)
    ham_channels: int = 256
    nmf_rank: int = 64  # R
    nmf_steps: int = 7  # multiplicative updates, the same in training and inference
    nmf_eps: float = 1e-6
    num_classes: int = 1
    norm_eps: float = 1e-5
    # learnable per-channel scale on the SVLA and FFN branches before the
    # residual add (LayerScale, as SegNeXt/MSCAN; 0 = none). It is folded
    # into attn.mix / ffn.fc2 on export, so exported graphs never see it.
    layer_scale: float = 0.0
    # 0, or 2: the pixel-centre coordinates (x, y) in (-1, 1) of the model
    # input join the image as two more stem input channels (CoordConv; the
    # paper has no position input). They are a constant of the input size:
    # exported graphs fold the stem's response to them into a constant map.
    coord_chans: int = 0
    # True: every SVLA's omega_v1 (the pixel side of the pixel-to-word
    # attention) also sees its stage's pixel-centre coordinates, through a
    # 1x1 conv without bias (v1_xy, zero at initialisation), so a word such
    # as a segment's name can be matched to a place (not in the paper).
    # Exported graphs add its precomputed response before the instance norm.
    attn_coords: bool = False
    text: BertConfig = field(default_factory=BertConfig)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @staticmethod
    def from_dict(d: dict) -> "LSMSConfig":
        d = dict(d)
        text = BertConfig(**d.pop("text", {}))
        for k in ("widths", "depths", "mlp_ratios", "kernels", "dec_stages"):
            if k in d:
                d[k] = tuple(d[k])
        return LSMSConfig(text=text, **d)


def _bert_base() -> BertConfig:
    return BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                      num_attention_heads=12, intermediate_size=3072,
                      max_position_embeddings=512)


def get_config(name: str, vocab_size: Optional[int] = None) -> LSMSConfig:
    """Named configurations: paper (Table 1), tiny (the 8.9 M count), edge."""
    if name == "paper":
        cfg = LSMSConfig(name="paper", widths=(64, 128, 320, 512), mlp_ratios=(8, 8, 4, 4),
                         ham_channels=256, nmf_rank=64, text_dim=768, text=_bert_base())
    elif name == "tiny":
        cfg = LSMSConfig(name="tiny", widths=(32, 64, 160, 256), mlp_ratios=(8, 4, 8, 8),
                         ham_channels=256, nmf_rank=64, text_dim=768, text=_bert_base())
    elif name == "edge":
        txt = BertConfig(vocab_size=1024, hidden_size=128, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=512,
                         max_position_embeddings=64)
        # The edge model runs at low resolution (160-192): its decoder also
        # takes stage 1 (stride 4), without which lesions of a few pixels
        # vanish at stride 8; LayerScale 1e-2 on the block branches (measured:
        # all-lesion Dice loss 0.80 vs 0.92 after 250 steps).
        cfg = LSMSConfig(name="edge", widths=(16, 32, 80, 128), depths=(2, 2, 3, 2),
                         mlp_ratios=(4, 4, 4, 4), ham_channels=64, nmf_rank=16,
                         text_dim=128, text=txt, dec_stages=(0, 1, 2, 3), layer_scale=1e-2)
    else:
        raise ValueError(f"unknown config {name!r} (paper, tiny, edge)")
    if vocab_size is not None:
        cfg.text.vocab_size = vocab_size
    cfg.text_dim = cfg.text.hidden_size
    return cfg


# --------------------------------------------------------------------------
# building blocks


class InstanceNorm2d(nn.Module):
    """Instance norm written with mean/var (TFLite MEAN, SQUARED_DIFFERENCE,
    RSQRT, MUL): no affine, no running statistics (= nn.InstanceNorm2d's
    defaults); the preceding 1x1 conv supplies scale and shift freedom."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        d = x - mean
        var = (d * d).mean(dim=(2, 3), keepdim=True)
        return d * torch.rsqrt(var + self.eps)


class ConvIN(nn.Sequential):
    """omega_v1, omega_v2, omega_f: 1x1 conv + instance norm."""

    def __init__(self, c: int, eps: float):
        super().__init__(nn.Conv2d(c, c, 1), InstanceNorm2d(eps))


class Stem(nn.Module):
    """MSCAN stem: conv3x3/2 -> BN -> GELU -> conv3x3/2 -> BN (stride 4)."""

    def __init__(self, cin: int, cout: int, eps: float):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 2, 3, 2, 1)
        self.bn1 = nn.BatchNorm2d(cout // 2, eps=eps)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(cout // 2, cout, 3, 2, 1)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps)

    def forward(self, x):
        return self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class Down(nn.Module):
    """Down-sampling block: conv3x3 stride 2 + BatchNorm."""

    def __init__(self, cin: int, cout: int, eps: float):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, 1)
        self.bn = nn.BatchNorm2d(cout, eps=eps)

    def forward(self, x):
        return self.bn(self.conv(x))


class ConvUnit(nn.Module):
    """Depthwise 1xd then dx1 convolution."""

    def __init__(self, c: int, d: int):
        super().__init__()
        self.h = nn.Conv2d(c, c, (1, d), padding=(0, d // 2), groups=c)
        self.v = nn.Conv2d(c, c, (d, 1), padding=(d // 2, 0), groups=c)

    def forward(self, x):
        return self.v(self.h(x))


class SVLA(nn.Module):
    """Scale-aware Vision-Language Attention (paper eq. 4-10)."""

    def __init__(self, c: int, cl: int, kernels: Sequence[int], pre_kernel: int,
                 pixelmap: bool, eps: float, coords: bool = False):
        super().__init__()
        self.cl = cl
        self.pixelmap = pixelmap
        self.pre = nn.Conv2d(c, c, pre_kernel, padding=pre_kernel // 2, groups=c)
        self.units = nn.ModuleList([ConvUnit(c, d) for d in kernels])
        self.v1 = ConvIN(c, eps)
        # omega_v1's share of the coordinate planes (LSMSConfig.attn_coords)
        self.v1_xy = nn.Conv2d(2, c, 1, bias=False) if coords else None
        self.v2 = ConvIN(c, eps) if pixelmap else None
        self.l1 = nn.Linear(cl, c)  # 1x1 conv over the word axis == linear
        self.l2 = nn.Linear(cl, c)
        self.f = ConvIN(c, eps)
        self.mix = nn.Conv2d(c, c, 1)

    def forward(self, v: torch.Tensor, lang: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        # v [B,C,H,W]; lang [B,T,C_l]; bias [B,1,T] (0 valid word, MASK_BIAS padding)
        b, c, h, w = v.shape
        pre = self.pre(v)
        att_v = self.units[0](pre)
        for u in self.units[1:]:
            att_v = att_v + u(pre)
        if self.v1_xy is None:
            v1 = self.v1(pre)
        else:
            xy = coord_planes(h, w, pre.dtype, pre.device)
            v1 = self.v1[1](self.v1[0](pre) + self.v1_xy(xy))
        v1 = v1.reshape(b, c, h * w).transpose(1, 2)  # [B,HW,C] = V1^T
        l1 = self.l1(lang)  # [B,T,C]  = L1^T
        l2 = self.l2(lang)  # [B,T,C]  = L2^T
        alpha = torch.matmul(v1, l1.transpose(1, 2))  # [B,HW,T] = V1^T L1
        attn = torch.softmax(alpha * (1.0 / math.sqrt(self.cl)) + bias, dim=-1)
        att_l = torch.matmul(attn, l2)  # [B,HW,C]
        att_l = att_l.transpose(1, 2).reshape(b, c, h, w)  # unflatten((.)^T)
        att_l = self.f(att_l)
        if self.pixelmap:
            att_l = att_l * self.v2(pre)
        return self.mix(pre + att_v + att_l) * v


class FFN(nn.Module):
    """1x1 -> depthwise 3x3 -> GELU -> 1x1."""

    def __init__(self, c: int, ratio: int):
        super().__init__()
        hid = c * ratio
        self.fc1 = nn.Conv2d(c, hid, 1)
        self.dw = nn.Conv2d(hid, hid, 3, padding=1, groups=hid)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hid, c, 1)

    def forward(self, x):
        return self.fc2(self.act(self.dw(self.fc1(x))))


class Block(nn.Module):
    """F' = Norm(SVLA(V, L) + V);  F = Norm(FFN(F') + F')  (post-norm, BN)."""

    def __init__(self, c: int, cfg: LSMSConfig, ratio: int):
        super().__init__()
        self.attn = SVLA(c, cfg.text_dim, cfg.kernels, cfg.pre_kernel, cfg.pixelmap, cfg.norm_eps,
                         coords=cfg.attn_coords)
        self.norm1 = nn.BatchNorm2d(c, eps=cfg.norm_eps)
        self.ffn = FFN(c, ratio)
        self.norm2 = nn.BatchNorm2d(c, eps=cfg.norm_eps)
        if cfg.layer_scale > 0:
            self.ls1 = nn.Parameter(torch.full((1, c, 1, 1), float(cfg.layer_scale)))
            self.ls2 = nn.Parameter(torch.full((1, c, 1, 1), float(cfg.layer_scale)))
        else:
            self.ls1 = self.ls2 = None

    def forward(self, v, lang, bias):
        a = self.attn(v, lang, bias)
        if self.ls1 is not None:
            a = self.ls1 * a
        x = self.norm1(a + v)
        f = self.ffn(x)
        if self.ls2 is not None:
            f = self.ls2 * f
        return self.norm2(f + x)

    @torch.no_grad()
    def fold_layer_scale(self):
        """ls1 * (mix(z) * v) == mix'(z) * v with mix' = ls1-scaled rows;
        ls2 * fc2(h) == fc2'(h). Removes the scales."""
        if self.ls1 is None:
            return
        g1, g2 = self.ls1.view(-1), self.ls2.view(-1)
        self.attn.mix.weight.mul_(g1.view(-1, 1, 1, 1))
        self.attn.mix.bias.mul_(g1)
        self.ffn.fc2.weight.mul_(g2.view(-1, 1, 1, 1))
        self.ffn.fc2.bias.mul_(g2)
        self.ls1 = self.ls2 = None


class Stage(nn.Module):
    def __init__(self, i: int, cfg: LSMSConfig):
        super().__init__()
        c = cfg.widths[i]
        self.down = (Stem(cfg.in_chans + cfg.coord_chans, c, cfg.norm_eps) if i == 0
                     else Down(cfg.widths[i - 1], c, cfg.norm_eps))
        self.blocks = nn.ModuleList([Block(c, cfg, cfg.mlp_ratios[i]) for _ in range(cfg.depths[i])])

    def forward(self, x, lang, bias):
        x = self.down(x)
        for blk in self.blocks:
            x = blk(x, lang, bias)
        return x


# --------------------------------------------------------------------------
# Full-Scale Decoder


def nmf_init_bases(d: int, r: int) -> torch.Tensor:
    """Fixed, non-negative, L2-normalised (over d) initial NMF bases [d, r].

    A closed form (no RNG) so that any runtime can rebuild it:
    b[i, j] = 1 + 0.5 * cos(2*pi * ((i + 1) * (j + 1) mod 97) / 97 + j), then
    each column is divided by its L2 norm. Columns differ from each other
    (otherwise the multiplicative updates keep them identical forever).
    """
    i = torch.arange(d, dtype=torch.float64).view(d, 1)
    j = torch.arange(r, dtype=torch.float64).view(1, r)
    phase = 2.0 * math.pi * torch.remainder((i + 1) * (j + 1), 97.0) / 97.0 + j
    b = 1.0 + 0.5 * torch.cos(phase)
    b = b / b.norm(dim=0, keepdim=True)
    return b.float()


class NMF(nn.Module):
    """Hamburger's NMF "ham": X [B,D,N] ~= Bases [B,D,R] @ Coef^T [B,R,N].

    coef0 = softmax(X^T B0) (inv_t = 1), then `steps` multiplicative updates
    (coef then bases), a final coef update, and the reconstruction B C^T.
    As in Hamburger, training back-propagates only through the last step
    (one-step gradient); the forward values are identical in both modes.
    """

    def __init__(self, d: int, r: int, steps: int, eps: float):
        super().__init__()
        self.steps = steps
        self.eps = eps
        self.register_buffer("bases", nmf_init_bases(d, r))

    def _coef(self, x, bases, coef):
        num = torch.matmul(x.transpose(1, 2), bases)  # [B,N,R]
        den = torch.matmul(coef, torch.matmul(bases.transpose(1, 2), bases))
        return coef * num / (den + self.eps)

    def _bases(self, x, bases, coef):
        num = torch.matmul(x, coef)  # [B,D,R]
        den = torch.matmul(bases, torch.matmul(coef.transpose(1, 2), coef))
        return bases * num / (den + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h * w)
        bases = self.bases.unsqueeze(0).expand(b, -1, -1)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.training):
            coef = torch.softmax(torch.matmul(x.transpose(1, 2), bases), dim=-1)
            for _ in range(self.steps):
                coef = self._coef(x, bases, coef)
                bases = self._bases(x, bases, coef)
        if self.training:
            bases, coef = bases.detach(), coef.detach()
        coef = self._coef(x, bases, coef)
        y = torch.matmul(bases, coef.transpose(1, 2))
        return y.reshape(b, c, h, w)


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout, eps, relu=True):
        layers = [nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=eps)]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class Hamburger(nn.Module):
    """Light Hamburger: ReLU(x + BN(conv(NMF(ReLU(conv(x))))))."""

    def __init__(self, c: int, cfg: LSMSConfig):
        super().__init__()
        self.ham_in = nn.Conv2d(c, c, 1)
        self.ham = NMF(c, cfg.nmf_rank, cfg.nmf_steps, cfg.nmf_eps)
        self.ham_out = ConvBNReLU(c, c, cfg.norm_eps, relu=False)

    def forward(self, x):
        y = F.relu(self.ham_in(x))
        y = self.ham_out(self.ham(y))
        return F.relu(x + y)


class FullScaleDecoder(nn.Module):
    """Out = Seg(InterScale(Concat[S2, S3, S4])), S_i = bilinear(F_i -> F_1 size).

    InterScale = squeeze (1x1 conv + BN + ReLU, concat channels -> ham
    channels) then the Hamburger; Seg = 1x1 conv + bilinear up-sampling to
    the input size. No extra "align" conv (SegNeXt's LightHamHead has one; the
    paper's equation 12 does not, and the reference 8.91 M count excludes it).
    """

    def __init__(self, cfg: LSMSConfig):
        super().__init__()
        self.stages = tuple(cfg.dec_stages)
        cin = sum(cfg.widths[i] for i in self.stages)
        self.squeeze = ConvBNReLU(cin, cfg.ham_channels, cfg.norm_eps)
        self.hamburger = Hamburger(cfg.ham_channels, cfg)
        self.seg = nn.Conv2d(cfg.ham_channels, cfg.num_classes, 1)

    def forward(self, feats: List[torch.Tensor], out_size: Tuple[int, int]) -> torch.Tensor:
        size = feats[0].shape[2:]
        s = [feats[i] if feats[i].shape[2:] == size else
             F.interpolate(feats[i], size=size, mode="bilinear", align_corners=False)
             for i in self.stages]
        x = torch.cat(s, dim=1)
        x = self.hamburger(self.squeeze(x))
        x = self.seg(x)
        return F.interpolate(x, size=out_size, mode="bilinear", align_corners=False)


# --------------------------------------------------------------------------


class LSMSVision(nn.Module):
    """Everything but the text encoder: (image, word features, mask bias) -> logits."""

    def __init__(self, cfg: LSMSConfig):
        super().__init__()
        if cfg.coord_chans not in (0, 2):
            raise ValueError(f"coord_chans must be 0 or 2, got {cfg.coord_chans}")
        self.coord_chans = cfg.coord_chans
        self.stages = nn.ModuleList([Stage(i, cfg) for i in range(len(cfg.widths))])
        self.decoder = FullScaleDecoder(cfg)

    def forward(self, image, lang, bias):
        feats = []
        x = image
        if self.coord_chans:
            xy = coord_planes(image.shape[2], image.shape[3], image.dtype, image.device)
            x = torch.cat([image, xy.expand(image.shape[0], -1, -1, -1)], 1)
        for st in self.stages:
            x = st(x, lang, bias)
            feats.append(x)
        return self.decoder(feats, image.shape[2:])


class LSMS(nn.Module):
    """Full model: BERT text encoder + vision encoder + FSD. Returns logits [B,1,H,W]."""

    def __init__(self, cfg: LSMSConfig):
        super().__init__()
        if cfg.text.hidden_size != cfg.text_dim:
            raise ValueError("text_dim must equal text.hidden_size")
        self.cfg = cfg
        self.text = BertModel(cfg.text)
        self.vision = LSMSVision(cfg)
        init_weights(self.vision)
        for mod in self.vision.modules():
            if isinstance(mod, SVLA) and mod.v1_xy is not None:
                nn.init.zeros_(mod.v1_xy.weight)
        # start from near-zero logits (BCE = ln 2) rather than the large
        # values the untrained multiplicative blocks would produce
        nn.init.normal_(self.vision.decoder.seg.weight, 0.0, 0.01)

    def forward(self, image, ids, attn_mask):
        lang = self.text(ids, attn_mask)  # [B,T,C_l]
        bias = mask_bias(attn_mask)
        return self.vision(image, lang, bias)


def coord_planes(h: int, w: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """[1, 2, h, w]: channel 0 = x, channel 1 = y of each pixel centre,
    (2j + 1)/w - 1 and (2i + 1)/h - 1, in (-1, 1)."""
    xs = (torch.arange(w, dtype=torch.float64) * 2 + 1) / w - 1
    ys = (torch.arange(h, dtype=torch.float64) * 2 + 1) / h - 1
    grid = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)])
    return grid[None].to(dtype=dtype, device=device)


def mask_bias(attn_mask: torch.Tensor) -> torch.Tensor:
    """[B,T] 1/0 attention mask -> [B,1,T] additive softmax bias."""
    return ((1.0 - attn_mask.float()) * MASK_BIAS).unsqueeze(1)


def init_weights(m: nn.Module) -> None:
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            fan_out = mod.kernel_size[0] * mod.kernel_size[1] * mod.out_channels // mod.groups
            nn.init.normal_(mod.weight, 0.0, math.sqrt(2.0 / fan_out))
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.Linear):
            nn.init.trunc_normal_(mod.weight, std=0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
