package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// PAD and PADV2 with constant int32/int64 paddings [rank, 2], rank ≤ 6.
// The pad value is 0 for float32/int32 and the output zero point for int8,
// or the scalar constant_values input when there is one (PADV2; int8
// constant_values must share the output's quantization, as TFLite checks).
// Eval writes each output row once: left pad, input row, right pad.

func init() {
	Register(schema.BuiltinOperatorPAD, func() Kernel { return &pad{} })
	Register(schema.BuiltinOperatorPADV2, func() Kernel { return &pad{} })
}

type pad struct {
	es           int
	ishape       []int // input shape (at least rank 1)
	oshape       []int
	before       []int
	inRowBytes   int
	outRowBytes  int
	leftBytes    int
	value        [8]byte // pad value bytes (es of them)
	valueFromRun bool    // read constant_values at Eval
	src, dst     []byte
	run          func(lo, hi int)
}

func (k *pad) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 3); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	switch in.Type {
	case tflite.Float32, tflite.Int8, tflite.Int32, tflite.Int64:
	default:
		return 0, n.Unsupportedf("input type %v (float32, int8, int32, int64)", in.Type)
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	rank := in.Rank()
	if rank > layoutMaxRank {
		return 0, n.Unsupportedf("rank %d (at most %d)", rank, layoutMaxRank)
	}
	pads, err := layoutConstInts(n, n.Inputs[1], "paddings")
	if err != nil {
		return 0, err
	}
	if len(pads) != 2*rank {
		return 0, n.Errorf("paddings %s must have shape [%d,2]", n.Inputs[1], rank)
	}
	k.ishape = append([]int{}, in.Shape...)
	k.before = make([]int, rank)
	after := make([]int, rank)
	for i := range rank {
		k.before[i], after[i] = pads[2*i], pads[2*i+1]
		if k.before[i] < 0 || after[i] < 0 {
			return 0, n.Errorf("paddings %v are negative", pads)
		}
	}
	k.oshape = make([]int, rank)
	for i := range rank {
		k.oshape[i] = k.before[i] + in.Shape[i] + after[i]
	}
	SetShape(out, append([]int{}, k.oshape...))
	if rank == 0 {
		k.ishape, k.oshape, k.before = []int{1}, []int{1}, []int{0}
	}
	k.es = in.Type.Size()
	// An unpadded last dimension joins the one before it (its padding
	// scaled by its size): the same bytes in longer rows, e.g. one row
	// per image row instead of one per pixel for [1,H,W,C] padded in H, W.
	for len(k.ishape) > 1 {
		l := len(k.ishape) - 1
		if k.oshape[l] != k.ishape[l] {
			break
		}
		s := k.ishape[l]
		k.ishape[l-1] *= s
		k.oshape[l-1] *= s
		k.before[l-1] *= s
		k.ishape, k.oshape, k.before = k.ishape[:l], k.oshape[:l], k.before[:l]
	}
	last := len(k.ishape) - 1
	k.inRowBytes = k.ishape[last] * k.es
	k.outRowBytes = k.oshape[last] * k.es
	k.leftBytes = k.before[last] * k.es

	// Pad value.
	k.value = [8]byte{}
	k.valueFromRun = false
	cv := n.Input(2)
	if in.Type == tflite.Int8 {
		if !out.Quantized() {
			return 0, n.Errorf("int8 output %s has no quantization parameters", out)
		}
		k.value[0] = byte(int8(out.ZeroPoint[0]))
		if cv != nil && cv.Quantized() && (cv.Scale[0] != out.Scale[0] || cv.ZeroPoint[0] != out.ZeroPoint[0]) {
			return 0, n.Errorf("constant_values %s and output %s have different quantization", cv, out)
		}
	}
	if cv != nil {
		if cv.Type != in.Type || cv.NumElements() != 1 {
			return 0, n.Errorf("constant_values %s must be one %v", cv, in.Type)
		}
		if cv.Const {
			copy(k.value[:k.es], cv.Data)
		} else {
			k.valueFromRun = true
		}
	}
	k.run = k.rows
	return 0, nil
}

func (k *pad) Eval(ctx *Context, n *Node) error {
	if k.valueFromRun {
		copy(k.value[:k.es], n.Inputs[2].Data)
	}
	k.src, k.dst = n.Inputs[0].Data, n.Outputs[0].Data
	if k.outRowBytes > 0 {
		rows := len(k.dst) / k.outRowBytes
		ctx.Pool.Run(rows, layoutUnitsGrain(k.outRowBytes), k.run)
	}
	k.src, k.dst = nil, nil
	return nil
}

// rows writes output rows [lo,hi).
func (k *pad) rows(lo, hi int) {
	last := len(k.oshape) - 1
	val := k.value[:k.es]
	for r := lo; r < hi; r++ {
		dst := k.dst[r*k.outRowBytes : (r+1)*k.outRowBytes]
		// Input row of output row r, if any.
		rem, inRow, stride, inside := r, 0, 1, true
		for i := last - 1; i >= 0; i-- {
			c := rem%k.oshape[i] - k.before[i]
			rem /= k.oshape[i]
			if c < 0 || c >= k.ishape[i] {
				inside = false
				break
			}
			inRow += c * stride
			stride *= k.ishape[i]
		}
		if !inside {
			layoutFill(dst, val)
			continue
		}
		layoutFill(dst[:k.leftBytes], val)
		copy(dst[k.leftBytes:k.leftBytes+k.inRowBytes], k.src[inRow*k.inRowBytes:(inRow+1)*k.inRowBytes])
		layoutFill(dst[k.leftBytes+k.inRowBytes:], val)
	}
}

// padRef is the reference pad of any rank.
func padRef[T any](in []T, shape []int, before, after []int, value T) ([]T, []int) {
	r := len(shape)
	oshape := make([]int, r)
	for i := range r {
		oshape[i] = before[i] + shape[i] + after[i]
	}
	out := make([]T, layoutProd(oshape))
	istr := layoutStrides(shape)
	idx := make([]int, r)
	for o := range out {
		off, ok := 0, true
		for i := range r {
			c := idx[i] - before[i]
			if c < 0 || c >= shape[i] {
				ok = false
				break
			}
			off += c * istr[i]
		}
		if ok {
			out[o] = in[off]
		} else {
			out[o] = value
		}
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < oshape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, oshape
}
