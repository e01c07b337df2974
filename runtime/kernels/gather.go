package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// GATHER of float32, int8, int32 (and other plain) params along any axis
// with int32 or int64 (or int16) indices, batch_dims 0. The output shape is
// params[:axis] + indices + params[axis+1:]. An index outside
// [0, params.shape[axis]) fails Eval with an error naming it.

func init() {
	Register(schema.BuiltinOperatorGATHER, func() Kernel { return &gather{} })
}

type gather struct {
	outer, axisSize, nIdx, innerBytes int
	idxType                           tflite.DType
	idx                               []int // indices of the current Eval
	src, dst                          []byte
	run                               func(lo, hi int)
}

func (k *gather) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	params, indices, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if err := layoutCheckMovable(n, params); err != nil {
		return 0, err
	}
	if out.Type != params.Type {
		return 0, n.Errorf("output type %v differs from params type %v", out.Type, params.Type)
	}
	switch indices.Type {
	case tflite.Int32, tflite.Int64, tflite.Int16:
	default:
		return 0, n.Unsupportedf("indices of type %v (int32, int64, int16)", indices.Type)
	}
	o, err := Options[schema.GatherOptionsT](n)
	if err != nil {
		return 0, err
	}
	rank := params.Rank()
	axis := int(o.Axis)
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, n.Errorf("axis %d is out of range for params %s", o.Axis, params)
	}
	bd := int(o.BatchDims)
	if bd < 0 {
		bd += indices.Rank()
	}
	if bd != 0 {
		return 0, n.Unsupportedf("batch_dims %d (only 0)", o.BatchDims)
	}
	oshape := append([]int{}, params.Shape[:axis]...)
	oshape = append(oshape, indices.Shape...)
	oshape = append(oshape, params.Shape[axis+1:]...)
	SetShape(out, oshape)
	k.outer = layoutProd(params.Shape[:axis])
	k.axisSize = params.Shape[axis]
	k.nIdx = indices.NumElements()
	k.innerBytes = layoutProd(params.Shape[axis+1:]) * params.Type.Size()
	k.idxType = indices.Type
	k.idx = make([]int, k.nIdx)
	k.run = k.copyRows
	return 0, nil
}

func (k *gather) Eval(ctx *Context, n *Node) error {
	ind := n.Inputs[1]
	switch k.idxType {
	case tflite.Int32:
		for i, v := range ind.I32()[:k.nIdx] {
			k.idx[i] = int(v)
		}
	case tflite.Int64:
		for i, v := range ind.I64()[:k.nIdx] {
			k.idx[i] = int(v)
		}
	case tflite.Int16:
		for i, v := range ind.I16()[:k.nIdx] {
			k.idx[i] = int(v)
		}
	}
	for i, v := range k.idx {
		if v < 0 || v >= k.axisSize {
			return n.Errorf("index %d at position %d of %s is out of range [0,%d)", v, i, ind, k.axisSize)
		}
	}
	k.src, k.dst = n.Inputs[0].Data, n.Outputs[0].Data
	ctx.Pool.Run(k.outer*k.nIdx, layoutUnitsGrain(k.innerBytes), k.run)
	k.src, k.dst = nil, nil
	return nil
}

// copyRows copies output rows [lo,hi); row u is index u%nIdx of outer u/nIdx.
func (k *gather) copyRows(lo, hi int) {
	ib := k.innerBytes
	for u := lo; u < hi; u++ {
		o, i := u/k.nIdx, u%k.nIdx
		s := (o*k.axisSize + k.idx[i]) * ib
		copy(k.dst[u*ib:(u+1)*ib], k.src[s:s+ib])
	}
}

// gatherRef is the reference gather along axis (batch_dims 0).
func gatherRef[T any](params []T, shape []int, idx []int, axis int) []T {
	outer := layoutProd(shape[:axis])
	inner := layoutProd(shape[axis+1:])
	var out []T
	for o := range outer {
		for _, i := range idx {
			s := (o*shape[axis] + i) * inner
			out = append(out, params[s:s+inner]...)
		}
	}
	return out
}
