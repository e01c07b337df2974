package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// SHAPE writes the input's (static) shape as int32 or int64.

func init() {
	Register(schema.BuiltinOperatorSHAPE, func() Kernel { return &shapeOp{} })
}

type shapeOp struct {
	dims []int
}

func (k *shapeOp) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 1); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	o, err := Options[schema.ShapeOptionsT](n)
	if err != nil {
		return 0, err
	}
	want := tflite.DType(o.OutType)
	if n.Options == nil {
		want = tflite.Int32
	}
	if out.Type != tflite.Int32 && out.Type != tflite.Int64 {
		return 0, n.Unsupportedf("output type %v (int32, int64)", out.Type)
	}
	if want != out.Type && n.Options != nil {
		return 0, n.Errorf("out_type %v differs from the output %s", want, out)
	}
	k.dims = append([]int{}, in.Shape...)
	SetShape(out, []int{len(k.dims)})
	return 0, nil
}

func (k *shapeOp) Eval(ctx *Context, n *Node) error {
	out := n.Outputs[0]
	if out.Type == tflite.Int64 {
		o := out.I64()
		for i, d := range k.dims {
			o[i] = int64(d)
		}
		return nil
	}
	o := out.I32()
	for i, d := range k.dims {
		o[i] = int32(d)
	}
	return nil
}
