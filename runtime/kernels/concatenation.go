package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// CONCATENATION along any axis (negative counts from the end) of float32,
// int8, int32 (and other plain) tensors, with a fused clamp activation.
//
// int8 inputs whose scale and zero point equal the output's are copied, as
// TFLite does (TFLite rejects int8 inputs with other parameters); inputs
// with other parameters are requantized the way TFLite's
// ConcatenationWithScaling does for uint8: round(q·s + b) + zp_out with
// s = scale_in/scale_out and b = −zp_in·s in float32, rounded half away
// from zero, then saturated.

func init() {
	Register(schema.BuiltinOperatorCONCATENATION, func() Kernel { return &concatenation{} })
}

type concatPart struct {
	chunk int // bytes per outer step
	off   int // byte offset within an output outer step
	// int8 requantization (requant) or clamp (clamp).
	requant     bool
	scale, bias float32
}

type concatenation struct {
	es       int
	outer    int
	outChunk int // bytes per outer step of the output
	parts    []concatPart
	ins      [][]byte
	dst      []byte
	dt       tflite.DType
	// Fused activation.
	clampF         bool
	flo, fhi       float32
	clampQ         bool
	qlo, qhi, outZ int32
	run            func(lo, hi int)
}

func (k *concatenation) Prepare(ctx *Context, n *Node) (int, error) {
	if len(n.Inputs) < 1 {
		return 0, n.Errorf("has no inputs")
	}
	for i, t := range n.Inputs {
		if t == nil {
			return 0, n.Errorf("input %d is missing", i)
		}
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.ConcatenationOptionsT](n)
	if err != nil {
		return 0, err
	}
	if err := CheckActivation(n, o.FusedActivationFunction); err != nil {
		return 0, err
	}
	t0, out := n.Inputs[0], n.Outputs[0]
	k.dt = t0.Type
	if err := layoutCheckMovable(n, t0); err != nil {
		return 0, err
	}
	if out.Type != t0.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, t0.Type)
	}
	act := o.FusedActivationFunction
	if act != actNone && t0.Type != tflite.Float32 && t0.Type != tflite.Int8 {
		return 0, n.Unsupportedf("fused activation %v on %v", act, t0.Type)
	}
	rank := t0.Rank()
	axis := int(o.Axis)
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, n.Errorf("axis %d is out of range for rank %d", o.Axis, rank)
	}
	oshape := append([]int{}, t0.Shape...)
	oshape[axis] = 0
	for i, t := range n.Inputs {
		if t.Type != t0.Type {
			return 0, n.Errorf("input %d has type %v, input 0 has %v", i, t.Type, t0.Type)
		}
		if t.Rank() != rank {
			return 0, n.Errorf("input %d has rank %d, input 0 has %d", i, t.Rank(), rank)
		}
		for d := range rank {
			if d != axis && t.Shape[d] != t0.Shape[d] {
				return 0, n.Errorf("input %d has shape %v, incompatible with %v along axis %d", i, t.Shape, t0.Shape, axis)
			}
		}
		oshape[axis] += t.Shape[axis]
	}
	SetShape(out, oshape)

	k.es = t0.Type.Size()
	k.outer = layoutProd(oshape[:axis])
	inner := layoutProd(oshape[axis+1:])
	k.outChunk = oshape[axis] * inner * k.es
	k.parts = make([]concatPart, len(n.Inputs))
	k.ins = make([][]byte, len(n.Inputs))
	off := 0
	for i, t := range n.Inputs {
		p := &k.parts[i]
		p.chunk = t.Shape[axis] * inner * k.es
		p.off = off
		off += p.chunk
	}

	k.clampF, k.clampQ = false, false
	switch t0.Type {
	case tflite.Float32:
		if act != actNone {
			k.clampF = true
			k.flo, k.fhi, _ = ActivationRangeFloat(act)
		}
	case tflite.Int8:
		if !out.Quantized() {
			return 0, n.Errorf("int8 output %s has no quantization parameters", out)
		}
		if len(out.Scale) != 1 {
			return 0, n.Unsupportedf("per-axis quantized output %s", out)
		}
		k.outZ = out.ZeroPoint[0]
		k.qlo, k.qhi = ActivationRangeInt8(act, out.Scale[0], out.ZeroPoint[0])
		k.clampQ = k.qlo > math.MinInt8 || k.qhi < math.MaxInt8
		for i, t := range n.Inputs {
			if !t.Quantized() || len(t.Scale) != 1 {
				return 0, n.Unsupportedf("int8 input %d %s needs per-tensor quantization", i, t)
			}
			if layoutSameQuant(t, out) {
				continue
			}
			p := &k.parts[i]
			p.requant = true
			p.scale = t.Scale[0] * (1 / out.Scale[0])
			p.bias = float32(-t.ZeroPoint[0]) * p.scale
		}
	}
	k.run = k.rows
	return 0, nil
}

func (k *concatenation) Eval(ctx *Context, n *Node) error {
	for i, t := range n.Inputs {
		k.ins[i] = t.Data
	}
	k.dst = n.Outputs[0].Data
	ctx.Pool.Run(k.outer, layoutUnitsGrain(k.outChunk), k.run)
	for i := range k.ins {
		k.ins[i] = nil
	}
	k.dst = nil
	return nil
}

// rows handles outer steps [lo,hi).
func (k *concatenation) rows(lo, hi int) {
	for o := lo; o < hi; o++ {
		base := o * k.outChunk
		for i := range k.parts {
			p := &k.parts[i]
			dst := k.dst[base+p.off : base+p.off+p.chunk]
			src := k.ins[i][o*p.chunk : (o+1)*p.chunk]
			switch {
			case p.requant:
				concatRequant(view[int8](dst), view[int8](src), p.scale, p.bias, k.outZ, k.qlo, k.qhi)
			case k.clampQ:
				d, s := view[int8](dst), view[int8](src)
				for j, v := range s {
					d[j] = ClampInt8(int32(v), k.qlo, k.qhi)
				}
			case k.clampF:
				d, s := view[float32](dst), view[float32](src)
				for j, v := range s {
					d[j] = ClampF32(v, k.flo, k.fhi)
				}
			default:
				copy(dst, src)
			}
		}
	}
}

// concatRequant maps int8 values to another scale and zero point as
// TFLite's ConcatenationWithScaling (float path).
func concatRequant(dst, src []int8, scale, bias float32, outZ, lo, hi int32) {
	for j, v := range src {
		r := float32(float32(v)*scale) + bias
		q := int32(math.Round(float64(r))) + outZ
		dst[j] = ClampInt8(q, lo, hi)
	}
}

// concatRef is the reference for plain types: inputs along axis.
func concatRef[T any](ins [][]T, shapes [][]int, axis int) []T {
	outer := layoutProd(shapes[0][:axis])
	inner := layoutProd(shapes[0][axis+1:])
	var out []T
	for o := range outer {
		for i, in := range ins {
			c := shapes[i][axis] * inner
			out = append(out, in[o*c:(o+1)*c]...)
		}
	}
	return out
}
