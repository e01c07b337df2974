package kernels

import (
	"github.com/lsms-edge/lsms/tflite/schema"
)

// SQUEEZE drops the listed unit dimensions (all unit dimensions when the
// list is empty) and EXPAND_DIMS inserts one at a constant axis; both copy
// the data unless the interpreter gave input and output one buffer
// (InPlacer).

func init() {
	Register(schema.BuiltinOperatorSQUEEZE, func() Kernel { return &squeeze{} })
	Register(schema.BuiltinOperatorEXPAND_DIMS, func() Kernel { return &expandDims{} })
}

type squeeze struct{}

func (k *squeeze) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 1); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	if err := layoutCheckMovable(n, in); err != nil {
		return 0, err
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	o, err := Options[schema.SqueezeOptionsT](n)
	if err != nil {
		return 0, err
	}
	rank := in.Rank()
	drop := make([]bool, rank)
	if len(o.SqueezeDims) == 0 {
		for i, d := range in.Shape {
			drop[i] = d == 1
		}
	}
	for _, a := range o.SqueezeDims {
		ax := int(a)
		if ax < 0 {
			ax += rank
		}
		if ax < 0 || ax >= rank || in.Shape[ax] != 1 {
			return 0, n.Errorf("cannot squeeze dimension %d of %v", a, in.Shape)
		}
		drop[ax] = true
	}
	oshape := []int{}
	for i, d := range in.Shape {
		if !drop[i] {
			oshape = append(oshape, d)
		}
	}
	SetShape(out, oshape)
	return 0, nil
}

// InPlace implements InPlacer: the output is the input's bytes.
func (k *squeeze) InPlace() bool { return true }

func (k *squeeze) Eval(ctx *Context, n *Node) error {
	layoutCopy(n.Outputs[0].Data, n.Inputs[0].Data)
	return nil
}

type expandDims struct{}

func (k *expandDims) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	if err := layoutCheckMovable(n, in); err != nil {
		return 0, err
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	axes, err := layoutConstInts(n, n.Inputs[1], "axis")
	if err != nil {
		return 0, err
	}
	if len(axes) != 1 {
		return 0, n.Errorf("axis %v must have one element", axes)
	}
	rank := in.Rank()
	ax := axes[0]
	if ax < 0 {
		ax += rank + 1
	}
	if ax < 0 || ax > rank {
		return 0, n.Errorf("axis %d is out of range for rank %d", axes[0], rank)
	}
	oshape := append([]int{}, in.Shape[:ax]...)
	oshape = append(oshape, 1)
	oshape = append(oshape, in.Shape[ax:]...)
	SetShape(out, oshape)
	return 0, nil
}

// InPlace implements InPlacer: the output is the input's bytes.
func (k *expandDims) InPlace() bool { return true }

func (k *expandDims) Eval(ctx *Context, n *Node) error {
	layoutCopy(n.Outputs[0].Data, n.Inputs[0].Data)
	return nil
}
