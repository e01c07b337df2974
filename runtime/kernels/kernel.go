package kernels

import (
	"errors"
	"fmt"
	"sort"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Node is one operator instance with its tensors resolved.
type Node struct {
	Index   int
	Op      schema.BuiltinOperator
	Version int32
	// Inputs has nil for omitted optional inputs.
	Inputs  []*Tensor
	Outputs []*Tensor
	// Options is the operator's *schema.XxxOptionsT, or nil.
	Options any
	// Scratch is per-node temporary memory of the size Prepare asked for,
	// valid only during Eval.
	Scratch []byte
}

// Name is the operator's schema name.
func (n *Node) Name() string { return tflite.OpName(n.Op) }

// Input returns input i, or nil if it is omitted or out of range.
func (n *Node) Input(i int) *Tensor {
	if i < 0 || i >= len(n.Inputs) {
		return nil
	}
	return n.Inputs[i]
}

// Errorf returns an error naming the node.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("operator %d (%s): %w", n.Index, n.Name(), fmt.Errorf(format, args...))
}

// Unsupportedf returns an ErrUnsupported naming the node.
func (n *Node) Unsupportedf(format string, args ...any) error {
	return fmt.Errorf("operator %d (%s): %w: %s", n.Index, n.Name(), ErrUnsupported, fmt.Sprintf(format, args...))
}

// ErrUnsupported marks an operator, type or option combination that the
// interpreter does not implement. It is reported when a model is loaded.
var ErrUnsupported = errors.New("unsupported")

// Context is what Prepare and Eval may use of the interpreter.
type Context struct {
	// Threads is the number of goroutines kernels may use.
	Threads int
	// Pool runs parallel loops.
	Pool *Pool
	// Invocation counts the runs of the whole graph (the interpreter
	// increments it before each); 0 means the caller does not count.
	// Within one invocation a tensor that is not a graph input is written
	// once, by its producer, before its consumers run, so kernels may
	// share work derived from it (BATCH_MATMUL's packed rhs).
	Invocation uint64

	packs map[*Tensor]*bmmPackEntry // see batchMatMul.Eval
}

// Kernel computes one operator instance.
type Kernel interface {
	// Prepare checks input types and shapes, sets output shapes (the
	// interpreter compares them with the model's), computes constants
	// such as quantized multipliers, and returns the scratch bytes Eval
	// needs. Output data is not yet allocated.
	Prepare(ctx *Context, n *Node) (scratch int, err error)
	// Eval computes the outputs. It must not allocate.
	Eval(ctx *Context, n *Node) error
}

// InPlacer is an optional capability of a Kernel whose output 0 holds
// exactly the bytes of its input 0 (RESHAPE, SQUEEZE, EXPAND_DIMS): when
// InPlace reports true after Prepare, the interpreter may give both
// tensors one buffer, and Eval then has nothing to copy.
type InPlacer interface {
	InPlace() bool
}

// InputFuser is an optional capability of a Kernel: after Prepare, the
// interpreter offers it the nodes that produce its inputs (producers[i]
// for input i; nil where the input is a constant, a graph input or output,
// or read by another node too). The kernel may take over some of them —
// compute what they would have, from their inputs, inside its own Eval —
// and returns those it took. The interpreter then does not run them,
// allocates no memory for their outputs, and keeps their inputs alive
// until this node.
type InputFuser interface {
	FuseInputs(n *Node, producers []*Node) []*Node
}

// Factory creates the per-node state of a kernel (the Init step).
type Factory func() Kernel

var registry = map[schema.BuiltinOperator]Factory{}

// Register installs the kernel for a builtin operator; kernels call it
// from init.
func Register(op schema.BuiltinOperator, f Factory) {
	if _, dup := registry[op]; dup {
		panic("kernels: duplicate registration for " + tflite.OpName(op))
	}
	registry[op] = f
}

// Lookup returns the kernel factory for op.
func Lookup(op schema.BuiltinOperator) (Factory, bool) {
	f, ok := registry[op]
	return f, ok
}

// Supported lists the operators with a kernel, sorted by name.
func Supported() []string {
	var out []string
	for op := range registry {
		out = append(out, tflite.OpName(op))
	}
	sort.Strings(out)
	return out
}

// Options returns n.Options as *T, or a zero *T when the model has none
// (TFLite's defaults).
func Options[T any](n *Node) (*T, error) {
	if n.Options == nil {
		return new(T), nil
	}
	o, ok := n.Options.(*T)
	if !ok {
		var z T
		return nil, n.Errorf("options are %T, want %T", n.Options, &z)
	}
	return o, nil
}

// CheckInputs verifies the input count range and that required inputs exist.
func CheckInputs(n *Node, min, max int) error {
	if len(n.Inputs) < min || len(n.Inputs) > max {
		if min == max {
			return n.Errorf("has %d inputs, want %d", len(n.Inputs), min)
		}
		return n.Errorf("has %d inputs, want %d to %d", len(n.Inputs), min, max)
	}
	for i := range min {
		if n.Inputs[i] == nil {
			return n.Errorf("required input %d is missing", i)
		}
	}
	return nil
}

// CheckOutputs verifies the output count.
func CheckOutputs(n *Node, want int) error {
	if len(n.Outputs) != want {
		return n.Errorf("has %d outputs, want %d", len(n.Outputs), want)
	}
	return nil
}

// SetShape sets an output's shape; the interpreter checks it against the
// model's static shape after Prepare.
func SetShape(t *Tensor, shape []int) {
	t.Shape = append(t.Shape[:0], shape...)
}
