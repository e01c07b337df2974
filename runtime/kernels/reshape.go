package kernels

import (
	"github.com/lsms-edge/lsms/tflite/schema"
)

// RESHAPE: the new shape comes from a 1-D int32/int64 shape input when it
// has one (as TFLite's reshape.cc), else from ReshapeOptions.new_shape; one
// dimension may be -1 and is inferred. The data is copied (no aliasing).

func init() {
	Register(schema.BuiltinOperatorRESHAPE, func() Kernel { return &reshape{} })
}

type reshape struct{}

func (k *reshape) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 2); err != nil {
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
	shape, err := reshapeTarget(n, in, out)
	if err != nil {
		return 0, err
	}
	shape, err = reshapeInfer(n, shape, in.NumElements())
	if err != nil {
		return 0, err
	}
	SetShape(out, shape)
	return 0, nil
}

// reshapeTarget returns the requested shape, possibly with one -1.
func reshapeTarget(n *Node, in, out *Tensor) ([]int, error) {
	if st := n.Input(1); st != nil && st.Rank() == 1 {
		if st.Const {
			return layoutConstInts(n, st, "shape")
		}
		// A shape computed at run time: the model's static output shape
		// is the only possibility the planner can allocate for.
		for _, d := range out.Shape {
			if d < 0 {
				return nil, n.Unsupportedf("shape %s is computed at run time and the output shape %v is not static", st, out.Shape)
			}
		}
		if layoutProd(out.Shape) != in.NumElements() {
			return nil, n.Unsupportedf("shape %s is computed at run time and the output shape %v does not match the input %v", st, out.Shape, in.Shape)
		}
		return append([]int{}, out.Shape...), nil
	}
	o, err := Options[schema.ReshapeOptionsT](n)
	if err != nil {
		return nil, err
	}
	if o.NewShape == nil && n.Options == nil {
		// No shape at all: keep the model's output shape if consistent.
		if layoutProd(out.Shape) == in.NumElements() {
			return append([]int{}, out.Shape...), nil
		}
		return nil, n.Errorf("has neither a shape input nor new_shape")
	}
	shape := make([]int, len(o.NewShape))
	for i, d := range o.NewShape {
		shape[i] = int(d)
	}
	// Legacy models write [0] for a scalar.
	if len(shape) == 1 && shape[0] == 0 {
		shape = shape[:0]
	}
	return shape, nil
}

// reshapeInfer resolves a -1 dimension and checks the element count.
func reshapeInfer(n *Node, shape []int, count int) ([]int, error) {
	shape = append([]int{}, shape...)
	stretch := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1:
			if stretch >= 0 {
				return nil, n.Errorf("shape %v has more than one -1", shape)
			}
			stretch = i
		case d < 0:
			return nil, n.Errorf("shape %v has a negative dimension", shape)
		default:
			known *= d
		}
	}
	if stretch >= 0 {
		if known == 0 || count%known != 0 {
			return nil, n.Errorf("cannot infer the -1 of shape %v from %d elements", shape, count)
		}
		shape[stretch] = count / known
		known *= shape[stretch]
	}
	if known != count {
		return nil, n.Errorf("shape %v has %d elements, the input has %d", shape, known, count)
	}
	return shape, nil
}

// InPlace implements InPlacer: the output is the input's bytes.
func (k *reshape) InPlace() bool { return true }

func (k *reshape) Eval(ctx *Context, n *Node) error {
	layoutCopy(n.Outputs[0].Data, n.Inputs[0].Data)
	return nil
}
