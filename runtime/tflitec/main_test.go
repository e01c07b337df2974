package tflitec

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// The library under test: $LSMS_TFLITE_LIB (a real libtensorflowlite_c)
// when set, else our c-shared build of internal/capi, built once per run
// into a temporary directory.
var (
	buildOnce sync.Once
	builtLib  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// testLib returns the path of the library under test.
func testLib(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvLibrary); p != "" {
		return p
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tflitec-capi-")
		if buildErr != nil {
			return
		}
		builtLib = filepath.Join(buildDir, LibraryName())
		cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-ldflags=-s -w", "-tags="+buildTags, "-o", builtLib, "./internal/capi")
		// For the test binary's own target: under user-mode QEMU
		// (scripts/qemu-test.sh) that is not the host's, and cgo needs
		// the cross compiler.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if cc := crossCC(); cc != "" {
			cmd.Env = append(cmd.Env, "CC="+cc)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the c-shared TFLite C API library (needs cgo and a C compiler): %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtLib
}

// crossCC names Debian's cross compiler for the test binary's target when
// that is not the go tool's host and CC is not set; "" otherwise.
func crossCC() string {
	if os.Getenv("CC") != "" {
		return ""
	}
	out, err := exec.Command(goTool(), "env", "GOHOSTARCH").Output()
	if err != nil || strings.TrimSpace(string(out)) == runtime.GOARCH {
		return ""
	}
	cc := map[string]string{"arm64": "aarch64-linux-gnu-gcc", "arm": "arm-linux-gnueabihf-gcc", "amd64": "x86_64-linux-gnu-gcc"}[runtime.GOARCH]
	if _, err := exec.LookPath(cc); cc == "" || err != nil {
		return ""
	}
	return cc
}

// ours reports whether the library under test is our c-shared build (it
// exports test hooks and computes exactly as the native backend).
func ours(t testing.TB) bool {
	t.Helper()
	l, err := Load(testLib(t))
	if err != nil {
		t.Fatal(err)
	}
	return l.interpreterInfo != nil
}

func needOurs(t *testing.T) {
	t.Helper()
	if !ours(t) {
		t.Skip("needs the test hooks of our c-shared library (LSMS_TFLITE_LIB is a real libtensorflowlite_c)")
	}
}

type capiDelegate struct {
	Kind                 string            `json:"kind"`
	NumThreads           int32             `json:"num_threads"`
	Flags                uint32            `json:"flags"`
	WeightCacheFile      string            `json:"weight_cache_file_path"`
	PrecisionLossAllowed int32             `json:"is_precision_loss_allowed"`
	InferencePreference  int32             `json:"inference_preference"`
	Priorities           []int             `json:"inference_priorities"`
	ExperimentalFlags    int64             `json:"experimental_flags"`
	MaxPartitions        int32             `json:"max_delegated_partitions"`
	SerializationDir     string            `json:"serialization_dir"`
	ModelToken           string            `json:"model_token"`
	Options              map[string]string `json:"options"`
}

type capiInterpreter struct {
	Threads          int            `json:"threads"`
	Reporter         bool           `json:"error_reporter"`
	Cancellation     bool           `json:"cancellation"`
	DelegateFallback bool           `json:"delegate_fallback"`
	Invokes          int            `json:"invokes"`
	Delegates        []capiDelegate `json:"delegates"`
}

// interpreterInfo reads what our library recorded about a session's
// interpreter.
func interpreterInfo(t *testing.T, s *Session) capiInterpreter {
	t.Helper()
	var js string
	s.exec.do(func() { js = s.lib.interpreterInfo(s.ip) })
	var v capiInterpreter
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("LsmsCapiInterpreterInfo %q: %v", js, err)
	}
	return v
}

func config(t testing.TB) Config { return Config{Library: testLib(t)} }

// --- models -----------------------------------------------------------------

// convModel: CONV_2D 3x3 (RELU) -> MEAN -> FULLY_CONNECTED -> SOFTMAX, float32.
func convModel(h, w, cout int) *tflite.Model {
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	const classes = 4
	b := tflite.NewBuilder("main")
	x := b.Input("image", tflite.Float32, []int{1, h, w, 1}, nil)
	wc := b.Const("conv/weights", tflite.Float32, []int{cout, 3, 3, 1}, randn(cout*9, 0.3), nil)
	bc := b.Const("conv/bias", tflite.Float32, []int{cout}, randn(cout, 0.05), nil)
	c := b.Tensor("conv", tflite.Float32, []int{1, h, w, cout}, nil)
	b.Op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideH: 1, StrideW: 1, DilationHFactor: 1, DilationWFactor: 1, FusedActivationFunction: schema.ActivationFunctionTypeRELU}, []int{x, wc, bc}, c)
	axes := b.Const("pool/axes", tflite.Int32, []int{2}, []int32{1, 2}, nil)
	p := b.Tensor("pool", tflite.Float32, []int{1, cout}, nil)
	b.Op(schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: false}, []int{c, axes}, p)
	wf := b.Const("fc/weights", tflite.Float32, []int{classes, cout}, randn(classes*cout, 0.5), nil)
	bf := b.Const("fc/bias", tflite.Float32, []int{classes}, randn(classes, 0.1), nil)
	l := b.Tensor("logits", tflite.Float32, []int{1, classes}, nil)
	b.Op(schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{}, []int{p, wf, bf}, l)
	s := b.Tensor("probs", tflite.Float32, []int{1, classes}, nil)
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{l}, s)
	b.Output(s)
	return b.Model()
}

// int8Model: two int8 inputs with their own quantization, ADD into an
// int8 output; also a float32 output (x dequantized).
func int8Model() *tflite.Model {
	b := tflite.NewBuilder("main")
	qa := &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}
	qb := &tflite.Quantization{Scale: []float32{0.25}, ZeroPoint: []int64{7}}
	qo := &tflite.Quantization{Scale: []float32{0.75}, ZeroPoint: []int64{2}}
	a := b.Input("a", tflite.Int8, []int{2, 3, 5}, qa)
	c := b.Input("b", tflite.Int8, []int{2, 3, 5}, qb)
	o := b.Tensor("sum", tflite.Int8, []int{2, 3, 5}, qo)
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{a, c}, o)
	f := b.Tensor("a_float", tflite.Float32, []int{2, 3, 5}, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{a}, f)
	b.Output(o, f)
	return b.Model()
}

// signatureModel: two subgraphs, "double" (x*2 via ADD x+x) and "relu",
// each with its signature.
func signatureModel() *tflite.Model {
	b := tflite.NewBuilder("double")
	x := b.Input("x", tflite.Float32, []int{1, 6}, nil)
	y := b.Tensor("y", tflite.Float32, []int{1, 6}, nil)
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{x, x}, y)
	b.Output(y)
	b.Signature("double")
	b.Subgraph("relu")
	u := b.Input("u", tflite.Float32, []int{1, 6}, nil)
	v := b.Tensor("v", tflite.Float32, []int{1, 6}, nil)
	b.Op(schema.BuiltinOperatorRELU, nil, []int{u}, v)
	b.Output(v)
	b.Signature("relu")
	return b.Model()
}

// randomInput makes data for a tensor.
func randomInput(info backend.TensorInfo, rng *rand.Rand) any {
	n := 1
	for _, d := range info.Shape {
		n *= d
	}
	switch info.Type {
	case tflite.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.Float64()*2 - 1)
		}
		return v
	case tflite.Int8:
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(rng.IntN(256) - 128)
		}
		return v
	case tflite.UInt8:
		v := make([]uint8, n)
		for i := range v {
			v[i] = uint8(rng.IntN(256))
		}
		return v
	case tflite.Int16:
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(rng.IntN(2000) - 1000)
		}
		return v
	case tflite.Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(rng.IntN(2))
		}
		return v
	case tflite.Int64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(rng.IntN(2))
		}
		return v
	case tflite.Bool:
		v := make([]bool, n)
		for i := range v {
			v[i] = rng.IntN(2) == 1
		}
		return v
	}
	return nil
}

func zeroOutput(info backend.TensorInfo) any {
	n := 1
	for _, d := range info.Shape {
		n *= d
	}
	switch info.Type {
	case tflite.Float32:
		return make([]float32, n)
	case tflite.Int8:
		return make([]int8, n)
	case tflite.UInt8:
		return make([]uint8, n)
	case tflite.Int16:
		return make([]int16, n)
	case tflite.Int32:
		return make([]int32, n)
	case tflite.Int64:
		return make([]int64, n)
	case tflite.Bool:
		return make([]bool, n)
	}
	return nil
}
