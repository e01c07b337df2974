package tflite

import (
	"slices"
	"testing"
)

// Identical zero_point vectors are written once and read back per tensor.
func TestSharedZeroPoints(t *testing.T) {
	b := NewBuilder("main")
	q := func(zps ...int64) *Quantization {
		s := make([]float32, len(zps))
		for i := range s {
			s[i] = float32(i+1) / 100
		}
		return &Quantization{Scale: s, ZeroPoint: zps}
	}
	var ins []int
	for range 40 {
		ins = append(ins, b.Const("w", Int8, []int{64}, make([]int8, 64), &Quantization{Scale: make([]float32, 64), ZeroPoint: make([]int64, 64), Dim: 0}))
	}
	x := b.Input("x", Int8, []int{3}, q(1, 2, 3))
	y := b.Input("y", Int8, []int{3}, q(1, 2, 4))
	b.Output(x, y)
	m := b.Model()
	m.Subgraphs[0].Inputs = append(m.Subgraphs[0].Inputs, ins...)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// 40 tensors × 64 zero points would be 20 KB alone.
	if len(data) > 20000+40*64+4096 {
		t.Errorf("%d bytes: zero points not shared", len(data))
	}
	back, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	ts := back.Subgraphs[0].Tensors
	if !slices.Equal(ts[x].Quant.ZeroPoint, []int64{1, 2, 3}) || !slices.Equal(ts[y].Quant.ZeroPoint, []int64{1, 2, 4}) {
		t.Errorf("zero points %v %v", ts[x].Quant.ZeroPoint, ts[y].Quant.ZeroPoint)
	}
	for _, i := range ins {
		if len(ts[i].Quant.ZeroPoint) != 64 || ts[i].Quant.ZeroPoint[63] != 0 {
			t.Fatalf("tensor %d zero points %v", i, ts[i].Quant.ZeroPoint)
		}
	}
}
