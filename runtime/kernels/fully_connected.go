package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func init() {
	Register(schema.BuiltinOperatorFULLY_CONNECTED, func() Kernel { return &fullyConnected{} })
}

// fullyConnected computes out[b][n] = Σ_k in[b][k]·w[n][k] + bias[n] with
// the shared GEMM (gemm.go); constant weights are packed once in Prepare.
type fullyConnected struct {
	mm           gemmMM
	in, w, bias  *Tensor
	wConst       bool
	bConst       bool
	inZP, wZP    int32
	colSum       []int32
	batch, units int
}

func (k *fullyConnected) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 3); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.FullyConnectedOptionsT](n)
	if err != nil {
		return 0, err
	}
	in, w, bias, out := n.Inputs[0], n.Inputs[1], n.Input(2), n.Outputs[0]
	k.in, k.w, k.bias = in, w, bias
	g := &k.mm
	switch {
	case in.Type == tflite.Float32 && w.Type == tflite.Float32 && out.Type == tflite.Float32 && (bias == nil || bias.Type == tflite.Float32):
	case in.Type == tflite.Int8 && w.Type == tflite.Int8 && out.Type == tflite.Int8 && (bias == nil || bias.Type == tflite.Int32):
		g.isI8 = true
	default:
		bt := "none"
		if bias != nil {
			bt = bias.Type.String()
		}
		return 0, n.Unsupportedf("input %v, weights %v, bias %s, output %v (want all float32, or int8 with int32 bias)", in.Type, w.Type, bt, out.Type)
	}
	if o.WeightsFormat != schema.FullyConnectedOptionsWeightsFormatDEFAULT {
		return 0, n.Unsupportedf("weights format %v", o.WeightsFormat)
	}
	if err := CheckActivation(n, o.FusedActivationFunction); err != nil {
		return 0, err
	}
	if w.Rank() != 2 {
		return 0, n.Errorf("weights %v must have rank 2", w.Shape)
	}
	units, depth := w.Shape[0], w.Shape[1]
	if depth <= 0 || in.Rank() < 1 || in.NumElements()%depth != 0 {
		return 0, n.Errorf("input %v does not divide into rows of %d", in.Shape, depth)
	}
	if bias != nil && bias.NumElements() != units {
		return 0, n.Errorf("bias has %d elements, want %d", bias.NumElements(), units)
	}
	batch := in.NumElements() / depth
	if o.KeepNumDims {
		if in.Dim(-1) != depth {
			return 0, n.Errorf("keep_num_dims needs the input's last dimension %d to equal the weights' depth %d", in.Dim(-1), depth)
		}
		shape := append([]int{}, in.Shape...)
		shape[len(shape)-1] = units
		SetShape(out, shape)
	} else {
		SetShape(out, []int{batch, units})
	}
	k.batch, k.units = batch, units
	g.batches, g.m, g.n, g.k = 1, batch, units, depth
	g.sm, g.sk = depth, 1
	g.aBase, g.bIdx, g.cBase = []int{0}, []int{0}, []int{0}
	k.wConst = w.Const
	k.bConst = bias == nil || bias.Const
	if g.isI8 {
		if depth >= 1<<17 {
			return 0, n.Unsupportedf("int8 accumulation depth %d is too large", depth)
		}
		if len(w.Scale) > 1 {
			if w.QDim != 0 {
				return 0, n.Errorf("weights are quantized along dimension %d, want 0", w.QDim)
			}
			if err := convCheckWeightZP(n, w); err != nil {
				return 0, err
			}
		}
		muls, err := gemmQuantParams(n, in, w, out, units, bias != nil)
		if err != nil {
			return 0, err
		}
		k.inZP = in.ZeroPoint[0]
		if len(w.ZeroPoint) == 1 {
			k.wZP = w.ZeroPoint[0]
		}
		g.mul = muls
		g.zp = out.ZeroPoint[0]
		g.qlo, g.qhi = ActivationRangeInt8(o.FusedActivationFunction, out.Scale[0], out.ZeroPoint[0])
		g.bZP = k.wZP
		g.colAdd = make([]int32, units)
		k.colSum = make([]int32, units)
		g.bI = make([]int64, gemmPackedBSizeI8(units, depth))
		if k.wConst && k.bConst {
			k.prepWeights()
		}
	} else {
		g.lo, g.hi, _ = ActivationRangeFloat(o.FusedActivationFunction)
		g.bF = make([]float32, gemmPackedBSizeF32(units, depth))
		if k.wConst {
			k.prepWeights()
		}
	}
	return g.setup(ctx), nil
}

func (k *fullyConnected) prepWeights() {
	g := &k.mm
	if !g.isI8 {
		gemmPackBF32(g.bF, k.w.F32(), g.n, g.k, g.k, 1)
		return
	}
	gemmPackBI8(g.bI, k.w.I8(), g.n, g.k, g.k, 1, k.colSum)
	var bias []int32
	if k.bias != nil {
		bias = k.bias.I32()
	}
	kzz := int32(g.k) * k.inZP * k.wZP
	for c := range g.n {
		var b int32
		if bias != nil {
			b = bias[c]
		}
		g.colAdd[c] = b - k.inZP*k.colSum[c] + kzz
	}
}

func (k *fullyConnected) Eval(ctx *Context, n *Node) error {
	g := &k.mm
	if g.isI8 {
		if !k.wConst || !k.bConst {
			k.prepWeights()
		}
		g.aI, g.cI = k.in.I8(), n.Outputs[0].I8()
	} else {
		if !k.wConst {
			k.prepWeights()
		}
		if k.bias != nil {
			g.biasF = k.bias.F32()
		}
		g.aF, g.cF = k.in.F32(), n.Outputs[0].F32()
	}
	g.exec(ctx, n.Scratch)
	return nil
}

// fullyConnectedRefF32 is TFLite's reference float FullyConnected.
func fullyConnectedRefF32(in, w, bias []float32, batch, units, depth int, lo, hi float32, out []float32) {
	for b := range batch {
		for u := range units {
			var acc float32
			for d := range depth {
				acc += in[b*depth+d] * w[u*depth+d]
			}
			if bias != nil {
				acc += bias[u]
			}
			out[b*units+u] = ClampF32(acc, lo, hi)
		}
	}
}

// fullyConnectedRefI8 is TFLite's reference_integer_ops::FullyConnected
// with the XNNPACK delegate's output stage: RequantizeFP32 by scale[u]
// (see gemmQuantParams).
func fullyConnectedRefI8(in []int8, inZP int32, w []int8, wZP int32, bias []int32, batch, units, depth int, scale []float32, mult []int32, shift []int, outZP, lo, hi int32, out []int8) {
	for b := range batch {
		for u := range units {
			var acc int32
			for d := range depth {
				acc += (int32(w[u*depth+d]) - wZP) * (int32(in[b*depth+d]) - inZP)
			}
			if bias != nil {
				acc += bias[u]
			}
			acc = refRequant(acc, scale, mult, shift, u) + outZP
			out[b*units+u] = int8(max(lo, min(hi, acc)))
		}
	}
}
