package tflite

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error about a malformed or inconsistent model.
var ErrInvalid = errors.New("invalid tflite model")

// ErrUnsupported is wrapped by errors about valid models this package cannot handle.
var ErrUnsupported = errors.New("unsupported tflite model")

// ValidationError locates a problem in a model. Fields that do not apply are -1.
type ValidationError struct {
	Subgraph int
	Operator int
	OpName   string
	Tensor   int
	Name     string // tensor name, if any
	Msg      string
	Kind     error // ErrInvalid or ErrUnsupported
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("tflite: ")
	if e.Subgraph >= 0 {
		fmt.Fprintf(&b, "subgraph %d: ", e.Subgraph)
	}
	if e.Operator >= 0 {
		fmt.Fprintf(&b, "operator %d", e.Operator)
		if e.OpName != "" {
			fmt.Fprintf(&b, " (%s)", e.OpName)
		}
		b.WriteString(": ")
	}
	if e.Tensor >= 0 {
		fmt.Fprintf(&b, "tensor %d", e.Tensor)
		if e.Name != "" {
			fmt.Fprintf(&b, " %q", e.Name)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *ValidationError) Unwrap() error {
	if e.Kind == nil {
		return ErrInvalid
	}
	return e.Kind
}

// where builds ValidationErrors for one location.
type where struct {
	sg, op, t int
	opName    string
	name      string
}

var top = where{sg: -1, op: -1, t: -1}

func (w where) subgraph(i int) where { w.sg = i; return w }
func (w where) operator(i int, name string) where {
	w.op, w.opName = i, name
	return w
}
func (w where) tensor(i int, name string) where {
	w.t, w.name = i, name
	return w
}

func (w where) errf(format string, args ...any) error {
	return &ValidationError{Subgraph: w.sg, Operator: w.op, OpName: w.opName, Tensor: w.t, Name: w.name, Msg: fmt.Sprintf(format, args...)}
}

func (w where) unsupportedf(format string, args ...any) error {
	e := w.errf(format, args...).(*ValidationError)
	e.Kind = ErrUnsupported
	return e
}
