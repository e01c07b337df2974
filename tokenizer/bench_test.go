package tokenizer

import "testing"

// BenchmarkEncode encodes the golden inputs (radiology phrases, unicode,
// long text) to T=64 and reports tokens/s (real tokens, [CLS]/[SEP]
// included, padding not). "warm" reuses the word cache, as a long-running
// service does; "cold" disables it, the cost of words never seen before.
func BenchmarkEncode(b *testing.B) {
	b.Run("warm", func(b *testing.B) { benchEncode(b, true) })
	b.Run("cold", func(b *testing.B) { benchEncode(b, false) })
}

func benchEncode(b *testing.B, cache bool) {
	tk := loadTestTokenizer(b)
	if !cache {
		tk.cache = nil
	}
	texts := goldenInputs()
	bytes := 0
	for _, s := range texts {
		bytes += len(s)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		for _, s := range texts {
			enc, err := tk.Encode(s, 64)
			if err != nil {
				b.Fatal(err)
			}
			tokens += enc.Len()
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeBatch is BenchmarkEncode through EncodeBatch (all cores).
func BenchmarkEncodeBatch(b *testing.B) {
	tk := loadTestTokenizer(b)
	texts := goldenInputs()
	tokens := 0
	for b.Loop() {
		encs, err := tk.EncodeBatch(texts, 64)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range encs {
			tokens += e.Len()
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
