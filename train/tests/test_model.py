import math
import unittest

import torch
import torch.nn as nn

from train.count import count
from train.lsms import model as M
from train.lsms.model import LSMS, SVLA, get_config, mask_bias


def calibrated(m, h=64, w=64, vocab=50):
    """Run BN in training mode once so that eval-mode statistics are sane
    (an untrained post-norm model with default running stats overflows)."""
    g = torch.Generator().manual_seed(99)
    m.train()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.momentum = None  # cumulative average
        m(torch.rand(4, 1, h, w, generator=g), torch.randint(4, vocab, (4, 8), generator=g),
          torch.ones(4, 8, dtype=torch.long))
    return m.eval()


def small_cfg():
    cfg = get_config("edge", vocab_size=50)
    cfg.text.hidden_dropout_prob = 0.0
    cfg.text.attention_probs_dropout_prob = 0.0
    return cfg


class ShapeTest(unittest.TestCase):
    def test_output_shape(self):
        torch.manual_seed(0)
        m = calibrated(LSMS(small_cfg()))
        for h, w in ((64, 64), (96, 64)):
            x = torch.rand(2, 1, h, w)
            ids = torch.randint(4, 50, (2, 10))
            attn = torch.ones(2, 10, dtype=torch.long)
            with torch.no_grad():
                y = m(x, ids, attn)
            self.assertEqual(tuple(y.shape), (2, 1, h, w))
            self.assertTrue(torch.isfinite(y).all())

    def test_stage_shapes(self):
        cfg = small_cfg()
        m = LSMS(cfg).eval()
        x = torch.rand(1, 1, 64, 64)
        lang = torch.randn(1, 5, cfg.text_dim)
        bias = torch.zeros(1, 1, 5)
        with torch.no_grad():
            for i, st in enumerate(m.vision.stages):
                x = st(x, lang, bias)
                s = 64 // (4 * 2 ** i)
                self.assertEqual(tuple(x.shape), (1, cfg.widths[i], s, s))

    def test_tiny_reference_count(self):
        params, macs, _, _, _ = count(get_config("tiny"), 480)
        self.assertEqual(round(params / 1e6, 2), 8.91)
        self.assertEqual(round(macs / 1e9, 2), 8.81)

    def test_paper_params(self):
        m = M.LSMSVision(get_config("paper"))
        self.assertEqual(round(sum(p.numel() for p in m.parameters()) / 1e6, 2), 21.45)

    def test_only_tflite_mappable_modules(self):
        allowed = (nn.Conv2d, nn.BatchNorm2d, nn.GELU, nn.ReLU, nn.Linear, nn.LayerNorm, nn.Embedding,
                   nn.Dropout, nn.Sequential, nn.ModuleList, M.InstanceNorm2d, M.NMF)
        for name, mod in LSMS(small_cfg()).named_modules():
            if len(list(mod.children())) == 0:
                self.assertIsInstance(mod, allowed, name)
            if isinstance(mod, nn.Conv2d):
                self.assertEqual(mod.dilation, (1, 1), name)
                self.assertTrue(mod.groups in (1, mod.in_channels), name)


class MaskingTest(unittest.TestCase):
    def test_svla_ignores_padding_words(self):
        torch.manual_seed(1)
        svla = SVLA(16, 24, (7, 11, 21), 5, True, 1e-5).eval()
        v = torch.randn(2, 16, 8, 8)
        lang = torch.randn(2, 6, 24)
        attn = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
        with torch.no_grad():
            a = svla(v, lang, mask_bias(attn))
            lang2 = lang.clone()
            lang2[attn == 0] = 100.0 * torch.randn(int((attn == 0).sum()), 24)
            b = svla(v, lang2, mask_bias(attn))
            # dropping the padding altogether gives the same result too
            c = svla(v[:1], lang[:1, :3], mask_bias(attn[:1, :3]))
        self.assertTrue(torch.equal(a, b))
        # same value up to float32 rounding: with 3 instead of 6 words the
        # BLAS sums in another order (measured 4e-6 on outputs up to 8 with
        # OpenBLAS, a few ulp of the intermediate sums), so the bound is
        # relative to the output's scale; padding leaking in would be O(1)
        err = float((a[:1] - c).abs().max())
        self.assertLess(err, 1e-5 * float(a.abs().max()))

    def test_model_ignores_padding_ids(self):
        torch.manual_seed(2)
        m = calibrated(LSMS(small_cfg()))
        x = torch.rand(1, 1, 64, 64)
        ids = torch.tensor([[2, 7, 9, 11, 3, 0, 0, 0]])
        attn = (ids != 0).long()
        ids2 = ids.clone()
        ids2[0, 5:] = torch.tensor([40, 41, 42])
        with torch.no_grad():
            a = m(x, ids, attn)
            b = m(x, ids2, attn)
            c = m(x, ids[:, :5], attn[:, :5])
        self.assertTrue(torch.allclose(a, b, atol=1e-5))
        # different T changes float summation order only (text features agree to 1e-7)
        self.assertLess(float((a - c).abs().max()), 1e-3 * float(a.abs().max()))

    def test_words_matter(self):
        torch.manual_seed(3)
        m = calibrated(LSMS(small_cfg()))
        x = torch.rand(1, 1, 64, 64)
        attn = torch.ones(1, 5, dtype=torch.long)
        with torch.no_grad():
            a = m(x, torch.tensor([[2, 7, 9, 11, 3]]), attn)
            b = m(x, torch.tensor([[2, 8, 10, 12, 3]]), attn)
        self.assertFalse(torch.allclose(a, b))


class NMFTest(unittest.TestCase):
    def test_fixed_bases(self):
        torch.manual_seed(0)
        a = M.NMF(32, 8, 7, 1e-6)
        torch.manual_seed(123)
        b = M.NMF(32, 8, 7, 1e-6)
        self.assertTrue(torch.equal(a.bases, b.bases))
        self.assertTrue(torch.equal(a.bases, M.nmf_init_bases(32, 8)))
        self.assertTrue((a.bases > 0).all())
        self.assertTrue(torch.allclose(a.bases.norm(dim=0), torch.ones(8), atol=1e-6))
        # columns distinct, otherwise multiplicative updates keep them equal
        g = a.bases.t() @ a.bases
        self.assertLess(float(g.fill_diagonal_(0).max()), 0.999)

    def test_deterministic_and_train_eval_equal(self):
        nmf = M.NMF(16, 4, 7, 1e-6)
        x = torch.rand(2, 16, 6, 5)
        nmf.eval()
        with torch.no_grad():
            y1 = nmf(x)
            y2 = nmf(x)
        nmf.train()
        y3 = nmf(x.clone().requires_grad_())
        self.assertTrue(torch.equal(y1, y2))
        self.assertTrue(torch.allclose(y1, y3.detach(), atol=1e-6))
        self.assertTrue((y1 >= 0).all())
        # a low-rank non-negative input is reconstructed well
        w = torch.rand(1, 16, 3)
        h = torch.rand(1, 3, 30)
        x = (w @ h).reshape(1, 16, 6, 5)
        rec = M.NMF(16, 4, 50, 1e-9).eval()(x)
        self.assertLess(float((rec - x).norm() / x.norm()), 0.1)


if __name__ == "__main__":
    unittest.main()


class CoordTest(unittest.TestCase):
    def test_coord_planes(self):
        xy = M.coord_planes(2, 4)
        self.assertEqual(tuple(xy.shape), (1, 2, 2, 4))
        self.assertEqual(xy[0, 0, 1].tolist(), [-0.75, -0.25, 0.25, 0.75])  # x varies along columns
        self.assertEqual(xy[0, 1, :, 3].tolist(), [-0.5, 0.5])  # y along rows

    def test_init_from_a_model_without_coordinates(self):
        from train.train import load_init
        torch.manual_seed(0)
        m0 = calibrated(LSMS(small_cfg()))
        cfg = small_cfg()
        cfg.coord_chans = 2
        m1 = LSMS(cfg)
        load_init(m1, m0.state_dict())
        m1.eval()
        x, ids, attn = torch.rand(2, 1, 64, 64), torch.randint(4, 50, (2, 10)), torch.ones(2, 10, dtype=torch.long)
        with torch.no_grad():
            self.assertEqual(float((m0(x, ids, attn) - m1(x, ids, attn)).abs().max()), 0.0)
            m1.vision.stages[0].down.conv1.weight[:, 1:] = 0.1  # the coordinates now change the output
            self.assertGreater(float((m0(x, ids, attn) - m1(x, ids, attn)).abs().max()), 1e-3)

    def test_attention_coordinates(self):
        from train.train import load_init
        torch.manual_seed(0)
        m0 = calibrated(LSMS(small_cfg()))
        cfg = small_cfg()
        cfg.attn_coords = True
        m1 = LSMS(cfg)
        self.assertEqual(float(m1.vision.stages[1].blocks[0].attn.v1_xy.weight.abs().max()), 0.0)
        load_init(m1, m0.state_dict())
        m1.eval()
        x, ids, attn = torch.rand(2, 1, 64, 64), torch.randint(4, 50, (2, 10)), torch.ones(2, 10, dtype=torch.long)
        with torch.no_grad():
            self.assertEqual(float((m0(x, ids, attn) - m1(x, ids, attn)).abs().max()), 0.0)
            a = m1.vision.stages[1].blocks[0].attn
            a.v1_xy.weight.normal_(0.0, 1.0)
            # the attention's pixel side moves with the place: the same
            # pixel features at mirrored places now attend differently
            pre = torch.ones(1, a.v1[0].in_channels, 4, 4)
            xy = M.coord_planes(4, 4)
            v1 = a.v1[1](a.v1[0](pre) + a.v1_xy(xy))
            self.assertGreater(float((v1[..., 0, 0] - v1[..., 3, 3]).abs().max()), 0.1)
            self.assertGreater(float((m0(x, ids, attn) - m1(x, ids, attn)).abs().max()), 1e-3)
