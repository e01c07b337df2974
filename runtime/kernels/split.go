package kernels

import (
	"github.com/lsms-edge/lsms/tflite/schema"
)

// SPLIT into num_splits equal parts along a constant axis (input 0), of any
// plain type.

func init() {
	Register(schema.BuiltinOperatorSPLIT, func() Kernel { return &split{} })
}

type split struct {
	outer, chunk int // outer steps; bytes of one output per outer step
	parts        int
}

func (k *split) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	in := n.Inputs[1]
	if err := layoutCheckMovable(n, in); err != nil {
		return 0, err
	}
	o, err := Options[schema.SplitOptionsT](n)
	if err != nil {
		return 0, err
	}
	parts := int(o.NumSplits)
	if n.Options == nil {
		parts = len(n.Outputs)
	}
	if parts <= 0 || parts != len(n.Outputs) {
		return 0, n.Errorf("num_splits %d does not match %d outputs", o.NumSplits, len(n.Outputs))
	}
	axes, err := layoutConstInts(n, n.Inputs[0], "axis")
	if err != nil {
		return 0, err
	}
	if len(axes) != 1 {
		return 0, n.Errorf("axis %v must have one element", axes)
	}
	rank := in.Rank()
	ax := axes[0]
	if ax < 0 {
		ax += rank
	}
	if ax < 0 || ax >= rank {
		return 0, n.Errorf("axis %d is out of range for rank %d", axes[0], rank)
	}
	if in.Shape[ax]%parts != 0 {
		return 0, n.Errorf("dimension %d of %v does not split into %d parts", ax, in.Shape, parts)
	}
	oshape := append([]int{}, in.Shape...)
	oshape[ax] /= parts
	for i, out := range n.Outputs {
		if out.Type != in.Type {
			return 0, n.Errorf("output %d type %v differs from input type %v", i, out.Type, in.Type)
		}
		SetShape(out, oshape)
	}
	k.parts = parts
	k.outer = layoutProd(in.Shape[:ax])
	k.chunk = layoutProd(oshape[ax:]) * in.Type.Size()
	return 0, nil
}

func (k *split) Eval(ctx *Context, n *Node) error {
	src := n.Inputs[1].Data
	for o := range k.outer {
		for p, out := range n.Outputs {
			s := (o*k.parts + p) * k.chunk
			copy(out.Data[o*k.chunk:(o+1)*k.chunk], src[s:s+k.chunk])
		}
	}
	return nil
}
