"""A small BERT (post-LN, GELU) with HuggingFace parameter names, and a loader
for HuggingFace BERT checkpoints (config.json + pytorch_model.bin or
model.safetensors).

Module attribute names follow transformers' BertModel, so a HF state dict
(with or without the "bert." prefix) loads with load_state_dict.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Dict, Optional

import torch
import torch.nn as nn

from . import safetensors as st


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    pad_token_id: int = 0
    initializer_range: float = 0.02

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_hf(d: dict) -> "BertConfig":
        act = d.get("hidden_act", "gelu")
        if act not in ("gelu",):
            raise ValueError(f"unsupported hidden_act {act!r} (only exact-erf 'gelu')")
        if d.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        keys = BertConfig.__dataclass_fields__.keys()
        return BertConfig(**{k: d[k] for k in keys if k in d})


class BertEmbeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, ids, token_type_ids=None):
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device).unsqueeze(0)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def forward(self, x, bias):
        b, t, _ = x.shape

        def split(y):
            return y.view(b, t, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        s = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.head_dim)) + bias
        p = self.dropout(torch.softmax(s, dim=-1))
        return torch.matmul(p, v).transpose(1, 2).reshape(b, t, -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class BertIntermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, bias):
        a = self.attention(x, bias)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, bias):
        for lyr in self.layer:
            x = lyr(x, bias)
        return x


class BertModel(nn.Module):
    """ids [B,T] int64, attention mask [B,T] (1 word, 0 padding) -> [B,T,hidden].

    No pooler: LSMS uses the word features only (a checkpoint's pooler weights
    are ignored by the loader).
    """

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.apply(self._init)

    def _init(self, m):
        r = self.config.initializer_range
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, r)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, r)
            if m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, ids, attn_mask, token_type_ids=None):
        bias = ((1.0 - attn_mask.float()) * -1.0e4)[:, None, None, :]
        return self.encoder(self.embeddings(ids, token_type_ids), bias)


# --------------------------------------------------------------------------
# HuggingFace checkpoints


def hf_to_local(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map a HF BERT state dict (BertModel, BertForMaskedLM, ...) to BertModel keys.

    Strips a "bert." prefix, renames old-style LayerNorm gamma/beta, drops
    heads (cls.*), the pooler and the position_ids buffer.
    """
    out = {}
    for k, v in sd.items():
        if k.startswith("bert."):
            k = k[len("bert."):]
        if not (k.startswith("embeddings.") or k.startswith("encoder.")):
            continue  # pooler, cls heads
        if k.endswith("position_ids"):
            continue
        k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        out[k] = v
    return out


def local_to_hf(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """BertModel state dict -> HF BertModel naming ("bert." prefixed, as BertForPreTraining)."""
    return {"bert." + k: v for k, v in sd.items()}


def load_hf_bert(path: str, strict: bool = True) -> BertModel:
    """Load a HF BERT directory: config.json + model.safetensors or pytorch_model.bin."""
    with open(os.path.join(path, "config.json")) as f:
        cfg = BertConfig.from_hf(json.load(f))
    sft = os.path.join(path, "model.safetensors")
    pt = os.path.join(path, "pytorch_model.bin")
    if os.path.exists(sft):
        sd = st.load_file(sft)
    elif os.path.exists(pt):
        try:
            sd = torch.load(pt, map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            sd = torch.load(pt, map_location="cpu")
    else:
        raise FileNotFoundError(f"{path}: neither model.safetensors nor pytorch_model.bin")
    model = BertModel(cfg)
    missing, unexpected = model.load_state_dict(hf_to_local(sd), strict=False)
    if strict and (missing or unexpected):
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model


def save_hf_bert(model: BertModel, path: str, fmt: str = "safetensors") -> None:
    """Write config.json + weights in HF naming (used by tests and for export)."""
    os.makedirs(path, exist_ok=True)
    d = model.config.to_dict()
    d.update({"model_type": "bert", "architectures": ["BertModel"], "hidden_act": "gelu",
              "position_embedding_type": "absolute"})
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(d, f, indent=2)
    sd = local_to_hf({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    if fmt == "safetensors":
        st.save_file(sd, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    else:
        torch.save(sd, os.path.join(path, "pytorch_model.bin"))


def load_text_encoder(model_text: BertModel, path: str) -> None:
    """Copy a HF checkpoint into an existing BertModel (sizes must agree)."""
    src = load_hf_bert(path)
    model_text.load_state_dict(src.state_dict())
