package tflitec

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// parity runs m through the native backend and through the library with
// the same random inputs and compares metadata and outputs: bit for bit
// against our library (the same kernels underneath), within TFLite's
// rounding against a real one.
func parity(t *testing.T, name string, m *tflite.Model, opts backend.Options, cfg Config) {
	t.Helper()
	ns, err := interp.Native{}.Open(m, opts)
	if err != nil {
		t.Fatalf("%s: native: %v", name, err)
	}
	defer ns.Close()
	ts, err := Open(m, opts, cfg)
	if err != nil {
		t.Fatalf("%s: tflite: %v", name, err)
	}
	defer ts.Close()
	exact := ours(t)
	if a, b := ns.Inputs(), ts.Inputs(); !reflect.DeepEqual(a, b) {
		t.Fatalf("%s: inputs differ:\nnative %+v\ntflite %+v", name, a, b)
	}
	if a, b := ns.Outputs(), ts.Outputs(); !reflect.DeepEqual(a, b) {
		t.Fatalf("%s: outputs differ:\nnative %+v\ntflite %+v", name, a, b)
	}
	rng := rand.New(rand.NewPCG(7, uint64(len(name))))
	for run := range 2 {
		for i, info := range ns.Inputs() {
			v := randomInput(info, rng)
			if v == nil {
				t.Skipf("%s: input %d type %v not generated", name, i, info.Type)
			}
			if err := ns.SetInput(i, v); err != nil {
				t.Fatal(err)
			}
			if err := ts.SetInput(i, v); err != nil {
				t.Fatalf("%s: SetInput(%d): %v", name, i, err)
			}
		}
		if err := ns.Invoke(); err != nil {
			t.Fatal(err)
		}
		if err := ts.Invoke(); err != nil {
			t.Fatalf("%s: Invoke: %v", name, err)
		}
		for i, info := range ns.Outputs() {
			a, b := zeroOutput(info), zeroOutput(info)
			if err := ns.Output(i, a); err != nil {
				t.Fatal(err)
			}
			if err := ts.Output(i, b); err != nil {
				t.Fatalf("%s: Output(%d): %v", name, i, err)
			}
			if err := compare(a, b, exact); err != nil {
				t.Errorf("%s: run %d output %d %q: %v", name, run, i, info.Name, err)
			}
		}
	}
}

func compare(a, b any, exact bool) error {
	if exact {
		if !reflect.DeepEqual(a, b) {
			return fmt.Errorf("differs:\nnative %v\ntflite %v", a, b)
		}
		return nil
	}
	switch a := a.(type) {
	case []float32:
		b := b.([]float32)
		var peak float64
		for _, v := range a {
			peak = max(peak, math.Abs(float64(v)))
		}
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > 1e-5+1e-4*peak {
				return fmt.Errorf("element %d: native %g, tflite %g", i, a[i], b[i])
			}
		}
	case []int8:
		b := b.([]int8)
		for i := range a {
			if d := int(a[i]) - int(b[i]); d < -1 || d > 1 {
				return fmt.Errorf("element %d: native %d, tflite %d", i, a[i], b[i])
			}
		}
	case []uint8:
		b := b.([]uint8)
		for i := range a {
			if d := int(a[i]) - int(b[i]); d < -1 || d > 1 {
				return fmt.Errorf("element %d: native %d, tflite %d", i, a[i], b[i])
			}
		}
	default:
		if !reflect.DeepEqual(a, b) {
			return fmt.Errorf("differs:\nnative %v\ntflite %v", a, b)
		}
	}
	return nil
}

func TestLoad(t *testing.T) {
	l, err := Load(testLib(t))
	if err != nil {
		t.Fatal(err)
	}
	if v := l.Version(); !strings.HasPrefix(v, "2.") {
		t.Errorf("TfLiteVersion() = %q, want 2.x", v)
	}
	l2, err := Load(testLib(t))
	if err != nil || l2 != l {
		t.Errorf("second Load = %p, %v; want the same library %p", l2, err, l)
	}
	t.Logf("%s: TfLite %s", l.Path, l.Version())
}

func TestParity(t *testing.T) {
	cfg := config(t)
	parity(t, "conv", convModel(12, 10, 4), backend.Options{}, cfg)
	parity(t, "conv threads=2", convModel(12, 10, 4), backend.Options{Threads: 2}, cfg)
	parity(t, "int8", int8Model(), backend.Options{}, cfg)
	parity(t, "signature double", signatureModel(), backend.Options{Signature: "double"}, cfg)
	parity(t, "signature relu", signatureModel(), backend.Options{Signature: "relu"}, cfg)
}

// TestParityTFModels runs the converter-written models of tflite/testdata
// that the native backend supports.
func TestParityTFModels(t *testing.T) {
	cfg := config(t)
	files, _ := filepath.Glob("../../tflite/testdata/tf/*.bin")
	ran := 0
	for _, f := range files {
		name := filepath.Base(f)
		file, err := tflite.Open(f)
		if err != nil {
			continue // malformed on purpose, or an unsupported schema
		}
		ns, err := interp.Native{}.Open(file.Model, backend.Options{})
		if err != nil {
			t.Logf("%s: not run (native: %v)", name, firstLine(err))
			file.Close()
			continue
		}
		ns.Close()
		t.Run(name, func(t *testing.T) {
			// The mapped file itself is the flatbuffer: no copy.
			parity(t, name, file.Model, backend.Options{Flatbuffer: file.Bytes()}, cfg)
		})
		file.Close()
		ran++
	}
	if ran < 5 {
		t.Fatalf("ran %d testdata models, want at least 5", ran)
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func TestTensorMetadata(t *testing.T) {
	s, err := Open(int8Model(), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []backend.TensorInfo{
		{Name: "a", Type: tflite.Int8, Shape: []int{2, 3, 5}, Scale: []float32{0.5}, ZeroPoint: []int32{-3}},
		{Name: "b", Type: tflite.Int8, Shape: []int{2, 3, 5}, Scale: []float32{0.25}, ZeroPoint: []int32{7}},
	}
	if got := s.Inputs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Inputs() = %+v\nwant %+v", got, want)
	}
	wantOut := []backend.TensorInfo{
		{Name: "sum", Type: tflite.Int8, Shape: []int{2, 3, 5}, Scale: []float32{0.75}, ZeroPoint: []int32{2}},
		{Name: "a_float", Type: tflite.Float32, Shape: []int{2, 3, 5}},
	}
	if got := s.Outputs(); !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Outputs() = %+v\nwant %+v", got, wantOut)
	}
	for i, p := range s.in {
		if p.bytes != 30 {
			t.Errorf("input %d: TfLiteTensorByteSize = %d, want 30", i, p.bytes)
		}
	}
	if s.out[1].bytes != 120 {
		t.Errorf("output 1: TfLiteTensorByteSize = %d, want 120", s.out[1].bytes)
	}
	// Known values through: a dequantized is 0.5*(a+3).
	a := make([]int8, 30)
	for i := range a {
		a[i] = int8(i - 10)
	}
	if err := s.SetInput(0, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetInput(1, make([]int8, 30)); err != nil {
		t.Fatal(err)
	}
	if err := s.Invoke(); err != nil {
		t.Fatal(err)
	}
	f := make([]float32, 30)
	if err := s.Output(1, f); err != nil {
		t.Fatal(err)
	}
	for i := range f {
		if want := 0.5 * float32(a[i]+3); f[i] != want {
			t.Fatalf("a_float[%d] = %g, want %g", i, f[i], want)
		}
	}
}

func TestTensorData(t *testing.T) {
	s, err := Open(int8Model(), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := make([]int8, 30)
	for i := range a {
		a[i] = int8(3 * i)
	}
	if err := s.SetInput(0, a); err != nil {
		t.Fatal(err)
	}
	p := s.lib.c.tensorData(s.in[0].t)
	if p == nil {
		t.Fatal("TfLiteTensorData of an allocated input is NULL")
	}
	got := unsafe.Slice((*int8)(p), 30)
	if !reflect.DeepEqual(got, a) {
		t.Errorf("TfLiteTensorData holds %v, want %v", got, a)
	}
}

func TestSetInputErrors(t *testing.T) {
	s, err := Open(int8Model(), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		i    int
		v    any
		want string
	}{
		{0, make([]int8, 29), `input 0 "a" [2 3 5] holds 30 elements (30 bytes), got 29`},
		{0, make([]float32, 30), `input 0 "a" is INT8, got FLOAT32 data`},
		{2, make([]int8, 30), "input 2 out of range [0,2)"},
		{0, []string{"x"}, "unsupported data type []string"},
	} {
		err := s.SetInput(c.i, c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetInput(%d, %T len %d) = %v, want %q", c.i, c.v, reflect.ValueOf(c.v).Len(), err, c.want)
		}
	}
	if err := s.Output(0, make([]int8, 31)); err == nil || !strings.Contains(err.Error(), "holds 30 elements (30 bytes), got 31") {
		t.Errorf("Output with 31 elements: %v", err)
	}
}

// TestByteSizeMismatch hands the library a buffer of the wrong size so that
// its own check answers: the error carries the status and, from our
// library, the message it gave the error reporter — a printf format with
// %s and %zu arguments formatted from the va_list by vsnprintf.
func TestByteSizeMismatch(t *testing.T) {
	s, err := Open(int8Model(), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.copyIn(0, make([]byte, 26))
	var ce *CallError
	if !errors.As(err, &ce) || ce.Status != StatusError || ce.Call != "TfLiteTensorCopyFromBuffer" {
		t.Fatalf("copyIn 26 bytes: %v, want a TfLiteTensorCopyFromBuffer CallError", err)
	}
	if !strings.Contains(err.Error(), "the tensor holds 30 bytes") {
		t.Errorf("error does not name the size: %v", err)
	}
	if ours(t) {
		want := "TfLiteTensorCopyFromBuffer: tensor 'a' holds 30 bytes, the buffer has 26"
		if len(ce.Messages) != 1 || ce.Messages[0] != want {
			t.Errorf("reporter messages %q, want [%q]", ce.Messages, want)
		}
	}
	t.Log(err)
	// The session still works.
	if err := s.copyIn(0, make([]byte, 30)); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidModel(t *testing.T) {
	l, err := Load(testLib(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.c.modelCreateWithReporter == nil {
		t.Skip("library lacks TfLiteModelCreateWithErrorReporter")
	}
	setupCallbacks()
	sk := newSink()
	defer sk.close()
	junk := bytes.Repeat([]byte("not a flatbuffer "), 8)
	if m := l.c.modelCreateWithReporter(unsafe.Pointer(&junk[0]), uintptr(len(junk)), reporterFn, sk.id); m != 0 {
		l.c.modelDelete(m)
		t.Fatal("TfLiteModelCreate accepted junk")
	}
	msgs := sk.take()
	if len(msgs) == 0 || msgs[0] == "" {
		t.Fatalf("the error reporter got nothing for an invalid model")
	}
	t.Logf("reporter: %q", msgs)
}

// TestInterpreterCreateError: a model the library cannot run (an operator
// with no kernel) fails at TfLiteInterpreterCreate with the reporter's
// message in the error.
func TestInterpreterCreateError(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{4}, nil)
	y := b.Tensor("y", tflite.Float32, []int{4}, nil)
	op := b.Op(schema.BuiltinOperatorCUSTOM, nil, []int{x}, y)
	op.Code.Custom = "LsmsNoSuchOp"
	b.Output(y)
	_, err := Open(b.Model(), backend.Options{}, config(t))
	var ce *CallError
	if !errors.As(err, &ce) || ce.Call != "TfLiteInterpreterCreate" || len(ce.Messages) == 0 {
		t.Fatalf("Open with an unknown custom op: %v, want TfLiteInterpreterCreate error with messages", err)
	}
	if !strings.Contains(err.Error(), "LsmsNoSuchOp") {
		t.Errorf("error does not name the operator: %v", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("a model error must not count as unavailable (no fallback): %v", err)
	}
	t.Log(err)
}

// TestModelBytesLifetime: the session keeps the flatbuffer it handed to
// TfLiteModelCreate alive and pinned; our library, which does not copy it,
// checks it at every Invoke.
func TestModelBytesLifetime(t *testing.T) {
	m := convModel(8, 8, 2)
	fb, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := tflite.Read(fb)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(m2, backend.Options{Flatbuffer: fb}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if unsafe.SliceData(s.model) != unsafe.SliceData(fb) {
		t.Fatal("the session copied Options.Flatbuffer")
	}
	in := make([]float32, 64)
	for i := range in {
		in[i] = float32(i%7) / 7
	}
	run := func() ([]float32, error) {
		if err := s.SetInput(0, in); err != nil {
			return nil, err
		}
		if err := s.Invoke(); err != nil {
			return nil, err
		}
		out := make([]float32, 4)
		return out, s.Output(0, out)
	}
	want, err := run()
	if err != nil {
		t.Fatal(err)
	}
	// Only the session holds the bytes now.
	fbKeep := &fb[len(fb)/2]
	fb, m, m2 = nil, nil, nil
	for range 3 {
		runtime.GC()
	}
	got, err := run()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after GC: %v, %v; want %v", got, err, want)
	}
	if !ours(t) {
		return
	}
	// Changing the bytes under the interpreter breaks the C API's rule; our
	// library notices and says so through the error reporter.
	*fbKeep ^= 0xff
	_, err = run()
	var ce *CallError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "model bytes changed since TfLiteModelCreate") {
		t.Errorf("Invoke after changing the model bytes: %v", err)
	}
	*fbKeep ^= 0xff
	if _, err := run(); err != nil {
		t.Errorf("after restoring the bytes: %v", err)
	}
}

func TestFlatbufferMismatch(t *testing.T) {
	m := convModel(8, 8, 2)
	other, err := convModel(8, 8, 2).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(m, backend.Options{Flatbuffer: other}, config(t))
	if err == nil || !strings.Contains(err.Error(), "not the buffer the model was read from") {
		t.Fatalf("Open with another model's bytes: %v", err)
	}
}

func TestMissingLibrary(t *testing.T) {
	_, err := Load("/nonexistent/dir/libtensorflowlite_c.so")
	if !errors.Is(err, ErrLibrary) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Load of a missing path: %v, want ErrLibrary", err)
	}
	if !strings.Contains(err.Error(), "/nonexistent/dir/libtensorflowlite_c.so") {
		t.Errorf("error does not name the path: %v", err)
	}
	t.Setenv(EnvLibrary, "/nonexistent/env/libtensorflowlite_c.so")
	_, err = Load("")
	if !errors.Is(err, ErrLibrary) || !strings.Contains(err.Error(), "/nonexistent/env/libtensorflowlite_c.so") {
		t.Errorf("Load(\"\") with %s set: %v", EnvLibrary, err)
	}
	t.Setenv(EnvLibrary, "")
	cands := Candidates()
	if cands[0] != LibraryName() || len(cands) < 3 {
		t.Errorf("Candidates() = %v, want the bare name first, then directories", cands)
	}
	_, err = Open(convModel(4, 4, 1), backend.Options{}, Config{Library: "/nonexistent/dir/libtensorflowlite_c.so"})
	if !errors.Is(err, ErrLibrary) {
		t.Errorf("Open: %v", err)
	}
	t.Log(err)
}

func TestNotTheTFLiteLibrary(t *testing.T) {
	for _, name := range libcNames() {
		_, err := Load(name)
		if errors.Is(err, ErrLibrary) {
			continue
		}
		if !errors.Is(err, ErrSymbol) || !strings.Contains(err.Error(), "TfLiteInterpreterCreate") {
			t.Fatalf("Load(%s): %v, want ErrSymbol naming the missing functions", name, err)
		}
		t.Log(err)
		return
	}
	t.Skip("no C library to load")
}

func TestFallback(t *testing.T) {
	var logs bytes.Buffer
	cfg := Config{Name: "tflite-fallback-test", Library: "/nonexistent/libtensorflowlite_c.so", FallbackToNative: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	m := convModel(6, 6, 2)
	s, fellBack, err := OpenWithFallback(m, backend.Options{}, cfg)
	if err != nil || !fellBack {
		t.Fatalf("OpenWithFallback = %v, fellBack %v", err, fellBack)
	}
	if _, ok := s.(*interp.Interpreter); !ok {
		t.Errorf("fallback session is %T, want the native *interp.Interpreter", s)
	}
	s.Close()
	if l := logs.String(); !strings.Contains(l, "falling back to the native backend") || !strings.Contains(l, "/nonexistent/libtensorflowlite_c.so") || !strings.Contains(l, "level=WARN") {
		t.Errorf("log %q does not say it fell back and why", l)
	}

	// Through the registry, as `lsms --backend` would.
	Register(cfg)
	be, err := backend.Get(cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := be.Open(m, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()

	// A missing delegate falls back too.
	logs.Reset()
	cfg2 := config(t)
	cfg2.Delegate, cfg2.FallbackToNative, cfg2.Logger = &NNAPI{}, true, cfg.Logger
	s3, fellBack, err := OpenWithFallback(m, backend.Options{}, cfg2)
	if err != nil || !fellBack {
		t.Fatalf("missing NNAPI with fallback: %v, %v", fellBack, err)
	}
	s3.Close()
	if !strings.Contains(logs.String(), "TfLiteNnapiDelegateCreate") {
		t.Errorf("log %q does not name the missing delegate", logs.String())
	}

	// Without FallbackToNative: the error.
	cfg.FallbackToNative = false
	if _, fb, err := OpenWithFallback(m, backend.Options{}, cfg); !errors.Is(err, ErrLibrary) || fb {
		t.Errorf("no fallback: %v, %v", fb, err)
	}
	// Errors that are not about availability never fall back.
	cfg3 := config(t)
	cfg3.FallbackToNative = true
	if _, fb, err := OpenWithFallback(m, backend.Options{Signature: "nope"}, cfg3); err == nil || fb {
		t.Errorf("bad signature with fallback: %v, %v", fb, err)
	}
}

func TestRegistered(t *testing.T) {
	names := backend.Names()
	for _, n := range []string{"tflite", "tflite+xnnpack", "tflite+gpu"} {
		found := false
		for _, h := range names {
			found = found || h == n
		}
		if !found {
			t.Errorf("backend %q not registered (have %v)", n, names)
		}
	}
	// "tflite" finds the library through $LSMS_TFLITE_LIB.
	t.Setenv(EnvLibrary, testLib(t))
	be, err := backend.Get("tflite")
	if err != nil {
		t.Fatal(err)
	}
	s, err := be.Open(convModel(4, 4, 1), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Session); !ok {
		t.Errorf("tflite backend opened %T", s)
	}
	s.Close()
}

func TestSessionOptions(t *testing.T) {
	needOurs(t)
	cfg := config(t)
	cfg.Cancellation, cfg.DelegateFallback = true, true
	s, err := Open(convModel(4, 4, 1), backend.Options{Threads: 3}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info := interpreterInfo(t, s)
	if info.Threads != 3 || !info.Reporter || !info.Cancellation || !info.DelegateFallback || len(info.Delegates) != 0 {
		t.Errorf("interpreter options = %+v", info)
	}
	s2, err := Open(convModel(4, 4, 1), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if info := interpreterInfo(t, s2); info.Threads != 1 || info.Cancellation || info.DelegateFallback {
		t.Errorf("default options = %+v (threads 0 means 1)", info)
	}
}

func TestCancel(t *testing.T) {
	s, err := Open(convModel(4, 4, 1), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(); err == nil {
		t.Error("Cancel without Config.Cancellation succeeded")
	}
	s.Close()

	cfg := config(t)
	cfg.Cancellation = true
	s, err = Open(convModel(160, 160, 16), backend.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Cancel(); err != nil {
		t.Fatalf("Cancel with nothing in flight: %v", err)
	}
	if err := s.SetInput(0, make([]float32, 160*160)); err != nil {
		t.Fatal(err)
	}
	// A Cancel before Invoke does not cancel it.
	if err := s.Invoke(); err != nil {
		t.Fatalf("Invoke after an earlier Cancel: %v", err)
	}
	// Cancel, again and again, while Invoke runs. The canceller is running
	// before Invoke starts (on a loaded machine a goroutine started just
	// before a millisecond-long Invoke may otherwise get no turn during it).
	for try := range 20 {
		var stop atomic.Bool
		started, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			close(started)
			for !stop.Load() {
				s.Cancel()
				time.Sleep(50 * time.Microsecond)
			}
		}()
		<-started
		err := s.Invoke()
		stop.Store(true)
		<-done
		if errors.Is(err, ErrCancelled) {
			t.Logf("try %d: %v", try, err)
			return
		}
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
	}
	t.Error("Invoke was never cancelled")
}

func TestClosed(t *testing.T) {
	s, err := Open(convModel(4, 4, 1), backend.Options{}, config(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Invoke(); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v", err)
	}
	if err := s.SetInput(0, make([]float32, 16)); !errors.Is(err, ErrClosed) {
		t.Errorf("SetInput after Close: %v", err)
	}
}

func TestNoStrayLibrary(t *testing.T) {
	// The c-shared build lives in a temporary directory, never the tree.
	if _, err := os.Stat("internal/capi/" + LibraryName()); err == nil {
		t.Error("a built library was left in internal/capi")
	}
}
