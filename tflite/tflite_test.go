package tflite

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// sampleModel builds a small graph with the features the writer must keep:
// per-axis quantization, an op code above 127, options of both unions'
// common kinds, signature defs and metadata.
func sampleModel(t testing.TB) *Model {
	b := NewBuilder("main")
	x := b.Input("x", Float32, []int{1, 4, 4, 2}, nil)
	w := b.Const("w", Float32, []int{3, 1, 1, 2}, []float32{1, 2, 3, 4, 5, 6}, nil)
	bias := b.Const("b", Float32, []int{3}, []float32{0.5, -0.5, 0}, nil)
	c := b.Tensor("conv", Float32, []int{1, 4, 4, 3}, nil)
	b.Op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideW: 1, StrideH: 1, DilationWFactor: 1, DilationHFactor: 1, FusedActivationFunction: schema.ActivationFunctionTypeRELU}, []int{x, w, bias}, c)
	g := b.Tensor("gelu", Float32, []int{1, 4, 4, 3}, nil)
	b.Op(schema.BuiltinOperatorGELU, &schema.GeluOptionsT{Approximate: true}, []int{c}, g)
	r := b.Tensor("reshape", Float32, []int{16, 3}, nil)
	b.Op(schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{NewShape: []int32{16, 3}}, []int{g}, r)
	s := b.Tensor("probs", Float32, []int{16, 3}, nil)
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{r}, s)
	qw := b.Const("qw", Int8, []int{2, 3}, []int8{-127, 0, 127, 5, -5, 1}, &Quantization{Scale: []float32{0.1, 0.2}, ZeroPoint: []int64{0, 0}, Dim: 0})
	b.TensorAt(qw).ShapeSignature = []int{2, 3}
	b.Output(s)
	b.Signature("serving_default")
	m := b.Model()
	m.Description = "sample"
	m.SetMinRuntimeVersion("2.18.0")
	m.SetMetadata("note", []byte("hello"))
	return m
}

// equalModels compares two models structurally; op codes are compared by
// value (the writer deduplicates the table) and nil slices equal empty ones.
func equalModels(a, b *Model) error {
	if a.Version != b.Version || a.Description != b.Description {
		return fmt.Errorf("header: %d %q vs %d %q", a.Version, a.Description, b.Version, b.Description)
	}
	if len(a.Buffers) != len(b.Buffers) {
		return fmt.Errorf("%d vs %d buffers", len(a.Buffers), len(b.Buffers))
	}
	for i := range a.Buffers {
		if !bytes.Equal(a.Buffers[i], b.Buffers[i]) {
			return fmt.Errorf("buffer %d differs", i)
		}
	}
	if !reflect.DeepEqual(norm(a.Metadata), norm(b.Metadata)) || !reflect.DeepEqual(norm(a.SignatureDefs), norm(b.SignatureDefs)) {
		return fmt.Errorf("metadata or signatures differ: %+v %+v vs %+v %+v", a.Metadata, a.SignatureDefs, b.Metadata, b.SignatureDefs)
	}
	if len(a.Subgraphs) != len(b.Subgraphs) {
		return fmt.Errorf("%d vs %d subgraphs", len(a.Subgraphs), len(b.Subgraphs))
	}
	for i := range a.Subgraphs {
		x, y := a.Subgraphs[i], b.Subgraphs[i]
		if x.Name != y.Name || !reflect.DeepEqual(norm(x.Inputs), norm(y.Inputs)) || !reflect.DeepEqual(norm(x.Outputs), norm(y.Outputs)) {
			return fmt.Errorf("subgraph %d header differs", i)
		}
		if len(x.Tensors) != len(y.Tensors) || len(x.Operators) != len(y.Operators) {
			return fmt.Errorf("subgraph %d sizes differ", i)
		}
		for j := range x.Tensors {
			if !reflect.DeepEqual(norm(*x.Tensors[j]), norm(*y.Tensors[j])) {
				return fmt.Errorf("subgraph %d tensor %d: %+v vs %+v", i, j, *x.Tensors[j], *y.Tensors[j])
			}
		}
		for j := range x.Operators {
			if !reflect.DeepEqual(norm(*x.Operators[j]), norm(*y.Operators[j])) {
				return fmt.Errorf("subgraph %d operator %d: %+v vs %+v", i, j, *x.Operators[j], *y.Operators[j])
			}
		}
	}
	return nil
}

// norm replaces empty slices by nil, recursively, through a reflect copy.
func norm[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normValue(rv)
	return v
}

func normValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := range v.Len() {
			normValue(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				normValue(v.Field(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			normValue(v.Elem())
		}
	case reflect.Interface:
		if !v.IsNil() && v.Elem().Kind() == reflect.Pointer {
			normValue(v.Elem())
		}
	}
}

func TestBuildWriteReadRoundTrip(t *testing.T) {
	m := sampleModel(t)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := equalModels(m, got); err != nil {
		t.Fatal(err)
	}
	if v := got.MinRuntimeVersion(); v != "2.18.0" {
		t.Errorf("min runtime version %q", v)
	}
	if op := got.Subgraphs[0].Operators[1]; op.Code.Builtin != schema.BuiltinOperatorGELU || !op.Options.(*schema.GeluOptionsT).Approximate {
		t.Errorf("GELU (code 150) did not survive: %+v", op)
	}
	// Constant data starts on a BufferAlign boundary of the file.
	base := uintptr(unsafe.Pointer(&data[0]))
	for i, buf := range got.Buffers {
		if len(buf) > 0 && (uintptr(unsafe.Pointer(&buf[0]))-base)%BufferAlign != 0 {
			t.Errorf("buffer %d at file offset %d is not %d-aligned", i, uintptr(unsafe.Pointer(&buf[0]))-base, BufferAlign)
		}
	}
	// Writing what we read gives the same bytes again.
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Error("read-then-write is not byte-identical to the first write")
	}
}

func TestOpCodeAbove127(t *testing.T) {
	m := sampleModel(t)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fm := schema.GetRootAsModel(data, 0)
	var oc schema.OperatorCode
	found := false
	for i := range fm.OperatorCodesLength() {
		fm.OperatorCodes(&oc, i)
		if oc.BuiltinCode() == schema.BuiltinOperatorGELU {
			found = true
			if oc.DeprecatedBuiltinCode() != 127 {
				t.Errorf("GELU deprecated_builtin_code = %d, want 127", oc.DeprecatedBuiltinCode())
			}
		}
		if oc.BuiltinCode() == schema.BuiltinOperatorCONV_2D && oc.DeprecatedBuiltinCode() != int8(schema.BuiltinOperatorCONV_2D) {
			t.Errorf("CONV_2D deprecated_builtin_code = %d", oc.DeprecatedBuiltinCode())
		}
	}
	if !found {
		t.Fatal("no GELU operator code written")
	}
}

func tfFiles(t testing.TB) []string {
	fs, err := filepath.Glob("testdata/tf/*.bin")
	if err != nil || len(fs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return fs
}

var badTF = map[string]string{
	"test_model_broken.bin":  `missing "TFL3" file identifier`,
	"add_shared_tensors.bin": `operator 1 (ADD): tensor 0 "add": input 0 is used before any operator produces it`,
	"transpose.bin":          `schema version 2, this reader supports 3`,
}

func TestTensorFlowFiles(t *testing.T) {
	for _, f := range tfFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			fl, err := Open(f)
			if want, bad := badTF[name]; bad {
				if err == nil || !strings.Contains(err.Error(), want) || !(errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported)) {
					t.Fatalf("got %v, want an ErrInvalid or ErrUnsupported containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer fl.Close()
			data, err := fl.Marshal()
			if name == "sparse_tensor.bin" {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("writing a sparse model: got %v, want ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := Read(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := equalModels(fl.Model, back); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKnownTensorFlowContents(t *testing.T) {
	m, err := ReadFile("testdata/tf/add_quantized_int8.bin")
	if err != nil {
		t.Fatal(err)
	}
	sg := m.Subgraphs[0]
	if len(sg.Operators) != 2 || sg.Operators[0].Code.Builtin != schema.BuiltinOperatorADD {
		t.Fatalf("unexpected ops %+v", sg.Operators)
	}
	in := sg.Tensors[sg.Inputs[0]]
	if in.Type != Int8 || in.Quant == nil || len(in.Quant.Scale) != 1 {
		t.Fatalf("input %+v", in)
	}
	m2, err := ReadFile("testdata/tf/multi_signatures.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.SignatureDefs) != 2 {
		t.Fatalf("%d signatures", len(m2.SignatureDefs))
	}
	m3, err := ReadFile("testdata/tf/test_min_runtime.bin")
	if err != nil {
		t.Fatal(err)
	}
	if v := m3.MinRuntimeVersion(); v == "" {
		t.Error("no min_runtime_version read")
	}
}

func TestTruncatedAndCorruptBytes(t *testing.T) {
	data, err := sampleModel(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n++ {
		// Only trailing alignment padding may be cut without an error.
		if m, err := Read(data[:n]); err == nil {
			if e := equalModels(sampleModel(t), m); e != nil {
				t.Fatalf("%d-byte prefix read without error as a different model: %v", n, e)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		c := bytes.Clone(data)
		for range 1 + rng.IntN(4) {
			c[rng.IntN(len(c))] = byte(rng.Uint32())
		}
		m, err := Read(c)
		if err == nil {
			// A surviving model must be writable again.
			if _, err := m.Marshal(); err != nil {
				t.Fatalf("read a corrupt file but cannot write it: %v", err)
			}
		} else if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	}
}

func TestValidationNamesTheProblem(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m *Model)
		want   string
	}{
		{"buffer index", func(m *Model) { m.Subgraphs[0].Tensors[1].Buffer = 99 }, `tensor 1 "w": buffer 99 out of range`},
		{"buffer size", func(m *Model) { m.Buffers[m.Subgraphs[0].Tensors[1].Buffer] = make([]byte, 20) }, `tensor 1 "w": buffer 1 holds 20 bytes, shape [3 1 1 2] of FLOAT32 needs 24`},
		{"op input", func(m *Model) { m.Subgraphs[0].Operators[0].Inputs[0] = 42 }, `operator 0 (CONV_2D): input 0: tensor 42 out of range`},
		{"order", func(m *Model) {
			ops := m.Subgraphs[0].Operators
			ops[0], ops[1] = ops[1], ops[0]
		}, `operator 0 (GELU): tensor 3 "conv": input 0 is used before any operator produces it`},
		{"two producers", func(m *Model) { m.Subgraphs[0].Operators[1].Outputs[0] = 3 }, `output 0 is already produced by operator 0`},
		{"overflow", func(m *Model) { m.Subgraphs[0].Tensors[3].Shape = []int{1 << 30, 1 << 30, 1 << 30} }, `element count overflows`},
		{"negative dim", func(m *Model) { m.Subgraphs[0].Tensors[0].Shape = []int{1, -4, 4, 2} }, `dimension 1 is negative`},
		{"per-axis", func(m *Model) {
			m.Subgraphs[0].Tensors[7].Quant.Scale = []float32{1, 2, 3}
			m.Subgraphs[0].Tensors[7].Quant.ZeroPoint = []int64{0, 0, 0}
		}, `3 per-axis scales, dimension 0 has size 2`},
		{"zero point", func(m *Model) { m.Subgraphs[0].Tensors[7].Quant.ZeroPoint = []int64{0, 300} }, `zero point 1 is 300`},
		{"signature", func(m *Model) { m.SignatureDefs[0].Outputs[0].Tensor = 77 }, `signature "serving_default" entry "probs": tensor 77 out of range`},
		{"version", func(m *Model) { m.Version = 2 }, `schema version 2`},
		{"options", func(m *Model) { m.Subgraphs[0].Operators[0].Options = &schema.ModelT{} }, `not a member of the BuiltinOptions unions`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sampleModel(t)
			c.mutate(m)
			_, err := m.Marshal()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%T is not a *ValidationError", err)
			}
		})
	}
}

func TestWriteFileAtomicAndOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.tflite")
	if err := sampleModel(t).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp files left behind: %v", ents)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := equalModels(sampleModel(t), f.Model); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("not a model at all"), 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "file identifier") {
		t.Fatalf("got %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, p := range tfFiles(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	data, err := sampleModel(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return
			}
			t.Fatalf("valid model cannot be written: %v", err)
		}
		if _, err := Read(out); err != nil {
			t.Fatalf("rewritten model does not read: %v", err)
		}
	})
}
