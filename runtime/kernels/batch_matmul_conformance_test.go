package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// bmmcShapes draws lhs, rhs and output shapes with broadcast batch dims.
func bmmcShapes(rng *rand.Rand) (ls, rs, os []int, adjX, adjY bool) {
	M, K, N := 1+rng.IntN(16), 1+rng.IntN(48), 1+rng.IntN(16)
	adjX, adjY = rng.IntN(2) == 0, rng.IntN(2) == 0
	lr, rr := 2+rng.IntN(3), 2+rng.IntN(3)
	rank := max(lr, rr)
	ob := make([]int, rank-2)
	for i := range ob {
		ob[i] = 1 + rng.IntN(3)
	}
	dims := func(r int) []int {
		d := make([]int, 0, r)
		for i := range r - 2 {
			v := ob[rank-r+i]
			if rng.IntN(3) == 0 {
				v = 1
			}
			d = append(d, v)
		}
		return d
	}
	lb, rb := dims(lr), dims(rr)
	os = make([]int, rank)
	for i := range rank - 2 {
		a, b := 1, 1
		if j := i - (rank - lr); j >= 0 {
			a = lb[j]
		}
		if j := i - (rank - rr); j >= 0 {
			b = rb[j]
		}
		os[i] = max(a, b)
	}
	os[rank-2], os[rank-1] = M, N
	if adjX {
		ls = append(lb, K, M)
	} else {
		ls = append(lb, M, K)
	}
	if adjY {
		rs = append(rb, N, K)
	} else {
		rs = append(rb, K, N)
	}
	return ls, rs, os, adjX, adjY
}

func TestConformanceBatchMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(101, 102))
	var fl, q []conformance.Case
	for i := range 26 {
		ls, rs, os, adjX, adjY := bmmcShapes(rng)
		if gemmcNum(ls) > 20000 || gemmcNum(rs) > 20000 || gemmcNum(os) > 20000 {
			continue
		}
		opts := &schema.BatchMatMulOptionsT{AdjX: adjX, AdjY: adjY}
		constRHS := rng.IntN(3) == 0
		name := fmt.Sprintf("bmm%d_%vx%v_adj%v%v_const%v", i, ls, rs, adjX, adjY, constRHS)

		lhs := gemmcFloats(rng, gemmcNum(ls), -1, 1)
		rhs := gemmcFloats(rng, gemmcNum(rs), -1, 1)
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, ls, nil)
		inputs := []conformance.Input{{Shape: ls, F32: lhs}}
		var r int
		if constRHS {
			r = b.Const("r", tflite.Float32, rs, rhs, nil)
		} else {
			r = b.Input("r", tflite.Float32, rs, nil)
			inputs = append(inputs, conformance.Input{Shape: rs, F32: rhs})
		}
		y := b.Tensor("y", tflite.Float32, os, nil)
		b.Op(schema.BuiltinOperatorBATCH_MATMUL, opts, []int{x, r}, y)
		b.Output(y)
		fl = append(fl, conformance.Case{Name: name, Model: b.Model(), Inputs: inputs})

		// int8: both operands run-time, per-tensor.
		lq, lScale, lZP := gemmcInQuant(rng, gemmcNum(ls))
		rq, rScale, rZP := gemmcInQuant(rng, gemmcNum(rs))
		if rng.IntN(3) == 0 {
			rZP = 0
		}
		fb := tflite.NewBuilder("main")
		fx := fb.Input("x", tflite.Float32, ls, nil)
		fr := fb.Input("r", tflite.Float32, rs, nil)
		fy := fb.Tensor("y", tflite.Float32, os, nil)
		fb.Op(schema.BuiltinOperatorBATCH_MATMUL, opts, []int{fx, fr}, fy)
		fb.Output(fy)
		outScale, outZP := gemmcOutQuant(t, fb.Model(), [][]float32{lq, rq})
		qb := tflite.NewBuilder("main")
		qx := conformance.QuantizeInput(qb, "x", ls, lScale, lZP)
		qr := conformance.QuantizeInput(qb, "r", rs, rScale, rZP)
		qy := qb.Tensor("yq", tflite.Int8, os, gemmcQ([]float32{outScale}, []int64{outZP}, 0))
		qb.Op(schema.BuiltinOperatorBATCH_MATMUL, opts, []int{qx, qr}, qy)
		conformance.DequantizeOutput(qb, qy, "y")
		q = append(q, conformance.Case{Name: name, Model: qb.Model(), Inputs: []conformance.Input{{Shape: ls, F32: lq}, {Shape: rs, F32: rq}}, QuantScale: outScale})
	}
	conformance.Run(t, "BATCH_MATMUL/float32", fl)
	conformance.Run(t, "BATCH_MATMUL/int8", q)
}
