package kernels

import (
	"math"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Test harness for the layout kernels: builds Nodes by hand, runs
// Prepare and Eval directly (no interpreter) at several thread counts.

// layoutBytes returns a copy of a typed slice's bytes in 8-byte aligned
// memory.
func layoutBytes(data any) []byte {
	var b []byte
	switch v := data.(type) {
	case []float32:
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	case []int8:
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
	case []int16:
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 2*len(v))
	case []int32:
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	case []int64:
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 8*len(v))
	default:
		panic("layoutBytes: unsupported type")
	}
	return layoutAlloc(len(b), b)
}

func layoutAlloc(n int, init []byte) []byte {
	w := make([]uint64, (n+7)/8+1)
	out := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
	copy(out, init)
	return out
}

func layoutTensor(name string, dt tflite.DType, shape []int, data any) *Tensor {
	t := &Tensor{Name: name, Type: dt, Shape: append([]int{}, shape...)}
	if data != nil {
		t.Data = layoutBytes(data)
	}
	return t
}

func layoutConstT(name string, dt tflite.DType, shape []int, data any) *Tensor {
	t := layoutTensor(name, dt, shape, data)
	t.Const = true
	return t
}

func layoutQuant(t *Tensor, scale float32, zp int32) *Tensor {
	t.Scale, t.ZeroPoint = []float32{scale}, []int32{zp}
	return t
}

// layoutRun prepares and evaluates one node; outputs get fresh data. It
// checks that Eval does not allocate.
func layoutRun(t testing.TB, op schema.BuiltinOperator, opts any, ins []*Tensor, outs []*Tensor, threads int) error {
	t.Helper()
	f, ok := Lookup(op)
	if !ok {
		t.Fatalf("no kernel for %s", tflite.OpName(op))
	}
	k := f()
	n := &Node{Op: op, Version: 1, Inputs: ins, Outputs: outs, Options: opts}
	pool := NewPool(threads)
	defer pool.Close()
	ctx := &Context{Threads: threads, Pool: pool}
	scratch, err := k.Prepare(ctx, n)
	if err != nil {
		return err
	}
	for _, o := range outs {
		o.Data = layoutAlloc(o.Bytes(), nil)
		// Poison the output to catch unwritten elements.
		for i := range o.Data {
			o.Data[i] = 0x5a
		}
	}
	n.Scratch = layoutAlloc(scratch, nil)
	if err := k.Eval(ctx, n); err != nil {
		return err
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := k.Eval(ctx, n); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%s: Eval allocates (%v allocs per run)", tflite.OpName(op), allocs)
	}
	return nil
}

func layoutRandF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func layoutRandI8(r *rand.Rand, n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(r.Intn(256) - 128)
	}
	return v
}

func layoutRandI32(r *rand.Rand, n int) []int32 {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(r.Intn(2001) - 1000)
	}
	return v
}

func layoutRandShape(r *rand.Rand, rank, maxDim int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1 + r.Intn(maxDim)
	}
	return s
}

func layoutEqualI8(t testing.TB, what string, got, want []int8) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %d, want %d", what, i, got[i], want[i])
		}
	}
}

func layoutEqualI32(t testing.TB, what string, got, want []int32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %d, want %d", what, i, got[i], want[i])
		}
	}
}

// layoutCloseF32 checks max|got−want| ≤ tol·max|want| (tol 0: bit-exact).
func layoutCloseF32(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	maxRef, maxErr, at := 0.0, 0.0, 0
	for i := range got {
		maxRef = max(maxRef, math.Abs(float64(want[i])))
		e := math.Abs(float64(got[i] - want[i]))
		if math.IsNaN(float64(got[i])) != math.IsNaN(float64(want[i])) {
			e = math.Inf(1)
		}
		if e > maxErr {
			maxErr, at = e, i
		}
	}
	if maxErr > tol*maxRef {
		t.Fatalf("%s: max error %g at %d (got %g, want %g), limit %g", what, maxErr, at, got[at], want[at], tol*maxRef)
	}
}

// layoutBench prepares a node once and times Eval.
func layoutBench(b *testing.B, op schema.BuiltinOperator, opts any, ins, outs []*Tensor, threads, bytes int) {
	f, _ := Lookup(op)
	k := f()
	n := &Node{Op: op, Version: 1, Inputs: ins, Outputs: outs, Options: opts}
	pool := NewPool(threads)
	defer pool.Close()
	ctx := &Context{Threads: threads, Pool: pool}
	scratch, err := k.Prepare(ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range outs {
		o.Data = layoutAlloc(o.Bytes(), nil)
	}
	n.Scratch = layoutAlloc(scratch, nil)
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := k.Eval(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}
