import json
import os
import struct
import tempfile
import unittest

import numpy as np
import torch

from train.lsms import safetensors as st
from train.lsms.data import LEVELS, Item, SegDataset, load_split, write_fallback_set
from train.lsms.losses import bce_dice_loss, dice_iou
from train.lsms.text import BertConfig, BertModel, load_hf_bert, save_hf_bert


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_all_dtypes(self):
        g = torch.Generator().manual_seed(0)
        ts = {
            "f32": torch.randn(3, 5, generator=g),
            "f64": torch.randn(2, generator=g).double(),
            "f16": torch.randn(4, 1, generator=g).half(),
            "bf16": torch.randn(7, generator=g).bfloat16(),
            "i64": torch.arange(-3, 3),
            "i32": torch.arange(5, dtype=torch.int32),
            "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
            "i8": torch.tensor([-5, 7], dtype=torch.int8),
            "u8": torch.tensor([0, 255], dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(3.5),
            "empty": torch.zeros(0, 4),
            "noncontig": torch.randn(4, 6, generator=g).t(),
        }
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            st.save_file(ts, p, metadata={"k": "v"})
            with open(p, "rb") as f:
                raw = f.read()
            n = struct.unpack("<Q", raw[:8])[0]
            self.assertEqual((8 + n) % 8, 0)
            got, meta = st.load_file_with_metadata(p)
        self.assertEqual(meta, {"k": "v"})
        self.assertEqual(set(got), set(ts))
        for k, v in ts.items():
            self.assertEqual(got[k].dtype, v.dtype, k)
            self.assertEqual(tuple(got[k].shape), tuple(v.shape), k)
            self.assertTrue(torch.equal(got[k], v), k)

    def test_known_bytes(self):
        # hand-built file per the format: {"a": F32 [2] = [1.0, -2.0]}
        header = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        header += b" " * ((8 - (8 + len(header)) % 8) % 8)
        blob = struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, -2.0)
        got, _ = st.deserialize(blob)
        self.assertTrue(torch.equal(got["a"], torch.tensor([1.0, -2.0])))
        self.assertEqual(st.serialize({"a": torch.tensor([1.0, -2.0])}), blob)

    def test_rejects_bad_files(self):
        good = st.serialize({"a": torch.zeros(2), "b": torch.ones(3)})
        with self.assertRaises(ValueError):
            st.deserialize(good[:-1])  # truncated
        with self.assertRaises(ValueError):
            st.deserialize(good + b"\0")  # trailing bytes
        with self.assertRaises(ValueError):
            st.deserialize(struct.pack("<Q", 1 << 40) + good[8:])
        hdr = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
        with self.assertRaises(ValueError):  # overlap
            st.deserialize(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 8)


class BertLoaderTest(unittest.TestCase):
    def _model(self):
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=20)
        return BertModel(cfg).eval()

    def test_round_trip_both_formats(self):
        m = self._model()
        ids = torch.tensor([[2, 5, 6, 7, 3, 0, 0]])
        attn = (ids != 0).long()
        ref = m(ids, attn)
        for fmt in ("safetensors", "bin"):
            with tempfile.TemporaryDirectory() as d:
                save_hf_bert(m, d, fmt)
                names = set(os.listdir(d))
                self.assertIn("config.json", names)
                self.assertIn("model.safetensors" if fmt == "safetensors" else "pytorch_model.bin", names)
                got = load_hf_bert(d).eval()
            self.assertTrue(torch.equal(got(ids, attn), ref), fmt)

    def test_hf_key_names_old_style_and_extras(self):
        m = self._model()
        sd = {}
        for k, v in m.state_dict().items():
            k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
            sd["bert." + k] = v
        sd["bert.embeddings.position_ids"] = torch.arange(20)[None]
        sd["bert.pooler.dense.weight"] = torch.zeros(16, 16)
        sd["cls.predictions.bias"] = torch.zeros(40)
        self.assertIn("bert.encoder.layer.1.attention.self.query.weight", sd)
        self.assertIn("bert.encoder.layer.0.output.LayerNorm.gamma", sd)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump({"model_type": "bert", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
                           "num_attention_heads": 2, "intermediate_size": 32, "hidden_act": "gelu",
                           "max_position_embeddings": 20, "type_vocab_size": 2}, f)
            torch.save(sd, os.path.join(d, "pytorch_model.bin"))
            got = load_hf_bert(d).eval()
        ids = torch.tensor([[2, 5, 3]])
        self.assertTrue(torch.equal(got(ids, torch.ones_like(ids)), m(ids, torch.ones_like(ids))))

    def test_missing_weights_fail(self):
        m = self._model()
        with tempfile.TemporaryDirectory() as d:
            save_hf_bert(m, d)
            t = st.load_file(os.path.join(d, "model.safetensors"))
            del t["bert.encoder.layer.1.output.dense.weight"]
            st.save_file(t, os.path.join(d, "model.safetensors"))
            with self.assertRaises(ValueError):
                load_hf_bert(d)


class DataTest(unittest.TestCase):
    def test_fallback_set_and_loader(self):
        with tempfile.TemporaryDirectory() as d:
            write_fallback_set(d, 4, size=40, seed=5, T=12, val_fraction=0.25)
            items = load_split(d, "train", LEVELS)
            self.assertEqual(len(items), 3 * 4)
            none = [it for it in items if it.level == "none"]
            self.assertTrue(all(list(it.ids[:3]) == [2, 3, 0] and it.attn.sum() == 2 for it in none))
            self.assertEqual(items[0].hu.dtype, np.int16)
            ds = SegDataset(items, 32, keep_full=True)
            x = ds[0]
            self.assertEqual(tuple(x["image"].shape), (1, 32, 32))
            self.assertEqual(tuple(x["mask_full"].shape), (1, 40, 40))
            self.assertTrue(0 <= float(x["image"].min()) <= float(x["image"].max()) <= 1)
            self.assertEqual(set(x["mask"].unique().tolist()) <= {0.0, 1.0}, True)
            self.assertGreater(float(x["mask"].sum()), 0)

    def test_in_memory_items(self):
        from train.lsms.data import Item
        hu = np.full((20, 30), -1000, np.int16)
        m = np.zeros((20, 30), np.uint8)
        m[5:10, 5:10] = 1
        ds = SegDataset([Item(hu, m, np.array([2, 9, 3, 0]), np.array([1, 1, 1, 0]))], 16)
        x = ds[0]
        self.assertEqual(float(x["image"].max()), 0.0)  # -1000 HU clipped to the window floor
        self.assertEqual(x["ids"].dtype, torch.long)


    def test_roi_box_and_paste(self):
        from train.lsms.data import Item, paste_logits, parse_roi, roi_box
        # the same cases as model/segmenter_test.go TestROIBox
        r = (0.03125, 0.15625, 0.71875, 0.84375)
        self.assertEqual(roi_box(None, 512, 512), (0, 512, 0, 512))
        self.assertEqual(roi_box(r, 512, 512), (80, 432, 16, 368))
        self.assertEqual(roi_box(r, 333, 401), (52, 281, 13, 288))
        self.assertEqual(roi_box((0, 0, 1, 1), 7, 9), (0, 7, 0, 9))
        self.assertEqual(roi_box((0.25, 0.25, 0.75, 0.75), 2, 2), (1, 2, 1, 2))
        with self.assertRaises(ValueError):
            roi_box((0.4, 0.4, 0.45, 0.45), 4, 4)
        with self.assertRaises(ValueError):
            parse_roi("0.5,0,0.4,1")
        self.assertEqual(parse_roi("0,0.1,0.5,1"), (0.0, 0.1, 0.5, 1.0))
        # the dataset crops image and mask to the box before resizing
        hu = np.full((40, 40), -1000, np.int16)
        hu[10:30, 20:40] = 240  # the box of roi (0.5, 0.25, 1, 0.75)
        m = np.zeros((40, 40), np.uint8)
        m[10:30, 20:40] = 1
        ds = SegDataset([Item(hu, m, np.array([2, 3]), np.array([1, 1]))], 8, roi=(0.5, 0.25, 1, 0.75))
        x = ds[0]
        self.assertEqual(float(x["image"].min()), 1.0)
        self.assertEqual(float(x["mask"].min()), 1.0)
        # logits go back into the box; outside is -inf (probability 0)
        lg = torch.randn(1, 1, 8, 8)
        out = paste_logits(lg, 40, 40, (0.5, 0.25, 1, 0.75))
        self.assertEqual(out.shape, (1, 1, 40, 40))
        self.assertTrue(torch.isinf(out[..., :10, :]).all() and torch.isinf(out[..., :, :20]).all())
        ref = torch.nn.functional.interpolate(lg, size=(20, 20), mode="bilinear", align_corners=False)
        self.assertTrue(torch.equal(out[..., 10:30, 20:40], ref))


class ExportTest(unittest.TestCase):
    def test_export_round_trip_with_bn_stats(self):
        from train.export import export, load_exported
        from train.lsms.model import LSMS, get_config
        torch.manual_seed(0)
        from train.tests.test_model import calibrated
        m = calibrated(LSMS(get_config("edge", vocab_size=30)), vocab=30)
        with tempfile.TemporaryDirectory() as d:
            sp, jp = export(m, d, "lsms", 64, 6)
            tensors = st.load_file(sp)
            with open(jp) as f:
                desc = json.load(f)
            got = load_exported(sp).eval()
        rv = "vision.stages.0.down.bn1.running_var"
        self.assertIn(rv, tensors)
        self.assertFalse(torch.equal(tensors[rv], torch.ones_like(tensors[rv])))  # real statistics
        self.assertNotIn("vision.stages.0.down.bn1.num_batches_tracked", tensors)
        self.assertEqual(desc["model"]["nmf_steps"], m.cfg.nmf_steps)
        self.assertEqual(desc["model"]["text"]["hidden_size"], m.cfg.text.hidden_size)
        self.assertEqual(set(desc["tensors"]), set(tensors))
        x = torch.rand(1, 1, 64, 64)
        ids = torch.tensor([[2, 5, 9, 3, 0, 0]])
        with torch.no_grad():
            a = m(x, ids, (ids != 0).long())
            self.assertTrue(torch.isfinite(a).all())
            # LayerScale is folded into the convolutions on export: equal up
            # to float rounding, not bit for bit
            b = got(x, ids, (ids != 0).long())
            self.assertLessEqual(float((a - b).abs().max()), 1e-5 * (1 + float(a.abs().max())))
            self.assertFalse(any(k.endswith(("ls1", "ls2")) for k in tensors))


class PretrainTextTest(unittest.TestCase):
    def test_mlm_pretraining_writes_a_loadable_encoder(self):
        from train import pretrain_text
        with tempfile.TemporaryDirectory() as d:
            write_fallback_set(d, 12, size=32, seed=2)
            out = os.path.join(d, "bert")
            stats = pretrain_text.main(["--data", d, "--config", "edge", "--out", out,
                                        "--steps", "60", "--batch", "16", "--threads", "1"])
            got = load_hf_bert(out).eval()
            with open(os.path.join(out, "pretrain.json")) as f:
                meta = json.load(f)
        self.assertEqual(got.config.vocab_size, 16)
        self.assertEqual(meta["steps"], 60)
        self.assertTrue(0.0 <= meta["val_masked_accuracy"] <= 1.0)
        # the masked-token loss falls on this tiny vocabulary
        self.assertLess(stats["loss_last"], stats["loss_first"])


class DiagnoseTest(unittest.TestCase):
    def test_diagnose_reports_a_live_text_encoder(self):
        from train import diagnose
        from train.export import export
        from train.lsms.model import LSMS, get_config
        from train.tests.test_model import calibrated
        torch.manual_seed(0)
        m = calibrated(LSMS(get_config("edge", vocab_size=16)), vocab=16)
        with tempfile.TemporaryDirectory() as d:
            write_fallback_set(d, 8, size=64, seed=4)
            sp, _ = export(m, d, "lsms", 64, 12)
            got = diagnose.main(["--model", sp, "--data", d, "--n", "4", "--size", "64"])
        # a random (untrained) encoder gives distinct tokens; every level is scored
        self.assertGreater(got["text"]["spread"], 0.1)
        self.assertEqual(set(got["dice"]), {"full", "none"})
        self.assertTrue(all(0 <= d <= 100 for _, d in got["dice"]["full"][0].values()))

    def test_replace_segment(self):
        from train.diagnose import replace_segment, segment_span
        vocab = ["[PAD]", "[CLS]", "[SEP]", "a", "cyst", "in", "segment", "iv", "##a", "vii", ","]
        b = [1, 3, 4, 5, 6, 9, 10, 2, 0, 0]  # a cyst in segment vii , (7 words + 3 padding)
        a = [1, 3, 4, 5, 6, 7, 8, 2, 0, 0]  # ... segment iv ##a
        self.assertEqual(segment_span(b, vocab), (5, 6))
        self.assertEqual(segment_span(a, vocab), (5, 7))  # word pieces belong to the name
        ids, attn = replace_segment(b, [1] * 8 + [0] * 2, a, vocab)
        self.assertEqual(ids.tolist(), [1, 3, 4, 5, 6, 7, 8, 10, 2, 0])
        self.assertEqual(attn.tolist(), [1] * 9 + [0])
        self.assertIsNone(replace_segment(b, [1] * 8 + [0] * 2, b, vocab))  # same segment
        self.assertIsNone(replace_segment(b, [1] * 8 + [0] * 2, [1, 3, 2, 0, 0, 0, 0, 0, 0, 0], vocab))
        full = [1, 3, 4, 5, 6, 9, 10, 3, 4, 2]  # no room for one more piece
        self.assertIsNone(replace_segment(full, [1] * 10, a, vocab))


class TrainUtilTest(unittest.TestCase):
    def test_epoch_batches_shard_and_repeat(self):
        from train.train import epoch_batches
        a = epoch_batches(10, 3, seed=1, epoch=0, rank=0, world=1)
        self.assertEqual(sorted(i for b in a for i in b), list(range(10)))
        self.assertEqual(a, epoch_batches(10, 3, seed=1, epoch=0, rank=0, world=1))
        self.assertNotEqual(a, epoch_batches(10, 3, seed=1, epoch=1, rank=0, world=1))
        r0 = epoch_batches(10, 2, 1, 0, 0, 4)
        r1 = epoch_batches(10, 2, 1, 0, 1, 4)
        self.assertEqual(sum(len(b) for b in r0), sum(len(b) for b in r1))
        allidx = set(i for r in range(4) for b in epoch_batches(10, 2, 1, 0, r, 4) for i in b)
        self.assertEqual(allidx, set(range(10)))
        d = epoch_batches(10, 3, 1, 0, 0, 1, drop_last=True)
        self.assertEqual([len(b) for b in d], [3, 3, 3])
        self.assertEqual([len(b) for b in epoch_batches(2, 3, 1, 0, 0, 1, drop_last=True)], [2])

    def test_pair_batches(self):
        from train.train import pair_batches
        # slice a: targets 1, 2, 3 (levels full/half); slice b: target 1 only
        keys = [f"a/0/{t}" for t in (1, 1, 2, 2, 3, 3)] + ["b/0/1", "b/0/1"]
        got = pair_batches(keys, 4, seed=3, epoch=0, rank=0, world=1)
        self.assertEqual(len(got), 1)
        self.assertEqual(got, pair_batches(keys, 4, seed=3, epoch=0, rank=0, world=1))
        units = [got[0][:2], got[0][2:]]
        for u in units:
            k0, k1 = keys[u[0]], keys[u[1]]
            self.assertEqual(k0.rsplit("/", 1)[0], k1.rsplit("/", 1)[0])  # same image
            if k0.startswith("a/"):
                self.assertNotEqual(k0, k1)  # two different targets
            else:
                self.assertNotEqual(u[0], u[1])  # two levels of the one target
        with self.assertRaises(ValueError):
            pair_batches(keys, 3, 0, 0, 0, 1)

    def test_augment_moves_image_and_masks_together(self):
        from train.train import augment_batch
        img = torch.zeros(2, 1, 32, 32)
        img[:, :, 8:16, 10:20] = 0.8
        m = (img > 0).float()
        b = {"image": img.clone(), "mask": m.clone(), "lesions": m.clone()}
        augment_batch(b, torch.Generator().manual_seed(3), noise=0.0, gain=0.0, bias=0.0)
        self.assertEqual(b["image"].shape, img.shape)
        self.assertFalse(torch.equal(b["mask"], m))  # it moved
        self.assertTrue(torch.equal(b["mask"], b["lesions"]))
        self.assertTrue(set(b["mask"].unique().tolist()) <= {0.0, 1.0})
        # the warped mask covers the warped bright block, not somewhere else
        bright = (b["image"] > 0.4).float()
        inter = (bright * b["mask"]).sum() / b["mask"].sum()
        self.assertGreater(float(inter), 0.9)
        # area roughly kept (scale 1 +- 0.1)
        ratio = float(b["mask"].sum() / m.sum())
        self.assertTrue(0.75 < ratio < 1.3, ratio)
        # seeded: the same draw twice
        b2 = {"image": img.clone(), "mask": m.clone(), "lesions": m.clone()}
        augment_batch(b2, torch.Generator().manual_seed(3), noise=0.0, gain=0.0, bias=0.0)
        self.assertTrue(torch.equal(b["image"], b2["image"]))

    def test_extra_data_needs_the_same_vocabulary(self):
        from train.train import check_same_vocab
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a"), os.path.join(d, "b")
            write_fallback_set(a, 4, 32, seed=1)
            write_fallback_set(b, 4, 32, seed=2)
            check_same_vocab(a, b)
            with open(os.path.join(b, "vocab.txt"), "a") as f:
                f.write("extra\n")
            with self.assertRaisesRegex(ValueError, "vocab.txt differs"):
                check_same_vocab(a, b)

    def test_poly_schedule(self):
        from train.train import poly_lambda
        f = poly_lambda(100, 0.9, 0)
        self.assertEqual(f(0), 1.0)
        self.assertAlmostEqual(f(50), 0.5 ** 0.9)
        self.assertEqual(f(100), 0.0)


class LossTest(unittest.TestCase):
    def test_metrics(self):
        p = torch.tensor([[1, 1, 0, 0]])
        g = torch.tensor([[1, 0, 0, 0]])
        d, i = dice_iou(p, g)
        self.assertAlmostEqual(float(d), 2 / 3, places=6)
        self.assertAlmostEqual(float(i), 1 / 2, places=6)
        d, i = dice_iou(torch.zeros(1, 4), torch.zeros(1, 4))
        self.assertEqual((float(d), float(i)), (1.0, 1.0))

    def test_loss_decreases_toward_target(self):
        t = torch.zeros(1, 1, 4, 4)
        t[..., :2, :2] = 1
        good, _, _ = bce_dice_loss(t * 20 - 10, t)
        bad, _, _ = bce_dice_loss(-(t * 20 - 10), t)
        self.assertLess(float(good), 0.01)
        self.assertGreater(float(bad), 1.0)

    def test_distractor_weight(self):
        # target top-left, another lesion bottom-right: predicting both costs
        # more BCE with distractor weight 10 than with 1, by exactly the
        # extra weight on the distractor's pixels; predicting the target alone
        # costs the same either way
        t = torch.zeros(1, 1, 4, 4)
        t[..., :2, :2] = 1
        d = torch.zeros(1, 1, 4, 4)
        d[..., 2:, 2:] = 1
        both = (t + d) * 20 - 10
        _, b1, _ = bce_dice_loss(both, t, distractors=t + d, distractor_weight=1.0)
        _, b10, _ = bce_dice_loss(both, t, distractors=t + d, distractor_weight=10.0)
        per_px = float(torch.nn.functional.softplus(torch.tensor(10.0)))  # BCE of logit 10 on a 0
        self.assertAlmostEqual(float(b10 - b1), 9 * 4 * per_px / 16, places=5)
        _, a1, _ = bce_dice_loss(t * 20 - 10, t, distractors=t + d, distractor_weight=1.0)
        _, a10, _ = bce_dice_loss(t * 20 - 10, t, distractors=t + d, distractor_weight=10.0)
        self.assertLess(float(a10 - a1), 1e-6 * (1 + float(a1)) + 5e-4)


class SwapTest(unittest.TestCase):
    def test_swap_counts_where_predictions_go(self):
        from train.eval import swap_kind, swap_test
        S = 32
        a = np.zeros((S, S), np.uint8)
        a[2:10, 2:10] = 1
        b = np.zeros((S, S), np.uint8)
        b[20:30, 20:30] = 1
        hu = np.zeros((S, S), np.int16)
        ids = lambda k: np.array([2, k, 3, 0], np.int64)
        att = np.array([1, 1, 1, 0], np.int64)
        items = [Item(hu, a, ids(5), att, key="c/0/1"), Item(hu, b, ids(6), att, key="c/0/2"),
                 Item(hu, a, ids(5), att, key="c/1/1")]  # one lesion: no pair

        class Fake(torch.nn.Module):  # both expressions -> lesion a
            def forward(self, img, ids, attn):
                out = torch.full((img.shape[0], 1, S, S), -10.0)
                out[:, :, 2:10, 2:10] = 10.0
                return out

        sw = swap_test(Fake(), items, S)
        self.assertEqual((sw["slices"], sw["pairs"]), (1, 2))
        self.assertAlmostEqual(sw["moved"], 0.5)
        self.assertAlmostEqual(sw["stuck"], 0.5)
        self.assertAlmostEqual(sw["on_target"], 0.5)
        self.assertAlmostEqual(sw["other_lesion"], 0.5)
        self.assertEqual(swap_kind({1: 0.3, 2: 0.1}, 1), "target_coarse")
        self.assertEqual(swap_kind({1: 0.0, 2: 0.0}, 1), "no_lesion")
        self.assertEqual(swap_kind({1: 0.2, 2: 0.4}, 1), "other_lesion")


if __name__ == "__main__":
    unittest.main()
