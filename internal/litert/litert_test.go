package litert

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func ramp(n int, scale, offset float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*scale + offset
	}
	return v
}

func mustArray(t *testing.T, data any, shape ...int) *npy.Array {
	t.Helper()
	a, err := npy.New(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func checkFloat32(t *testing.T, what string, a *npy.Array, shape []int, want []float32) {
	t.Helper()
	if a.DType != "float32" || !reflect.DeepEqual(a.Shape, shape) {
		t.Fatalf("%s: got %s%v, want float32%v", what, a.DType, a.Shape, shape)
	}
	got := a.Data.([]float32)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// testdata/add.bin (TensorFlow's lite/testdata/add.bin) computes
// output = (input + input) + input over [1,8,8,3] float32; its SignatureDef
// names the input "a" and the output "x".
func TestAddModel(t *testing.T) {
	Require(t)
	in := ramp(192, 0.25, -10)
	want := make([]float32, len(in))
	for i, x := range in {
		want[i] = x + x + x // exact for these quarter-integers
	}
	shape := []int{1, 8, 8, 3}
	start := time.Now()
	res, err := Run([]Case{
		{ModelPath: "testdata/add.bin", Inputs: []*npy.Array{mustArray(t, in, shape...)}},
		{ModelPath: "testdata/add.bin", Inputs: []*npy.Array{mustArray(t, in, shape...)}, API: "lowlevel"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node start + runtime load + 2 runs of add.bin: %v", time.Since(start))
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("case %d: %v", i, r.Err)
		}
		if len(r.Outputs) != 1 || !reflect.DeepEqual(r.Names, []string{"x"}) || !reflect.DeepEqual(r.InputNames, []string{"a"}) {
			t.Fatalf("case %d: outputs %d names %v inputs %v", i, len(r.Outputs), r.Names, r.InputNames)
		}
		if r.Signature != "serving_default" {
			t.Errorf("case %d: signature %q", i, r.Signature)
		}
		checkFloat32(t, fmt.Sprintf("case %d (%s) output", i, r.API), r.Outputs[0], shape, want)
	}
	if res[0].API != "public" || res[1].API != "lowlevel" {
		t.Errorf("APIs %q %q, want public lowlevel", res[0].API, res[1].API)
	}
}

// testdata/multi_add.bin (TensorFlow's lite/testdata/multi_add.bin) has
// inputs a, b, c, d and outputs x = a + (b + c), y = d + (b + c).
func TestMultiAddOrderAndNames(t *testing.T) {
	Require(t)
	model, err := os.ReadFile("testdata/multi_add.bin")
	if err != nil {
		t.Fatal(err)
	}
	shape := []int{1, 8, 8, 3}
	a, b, c, d := ramp(192, 1, 0), ramp(192, 0.5, 100), ramp(192, -2, 7), ramp(192, 0, 1000)
	res, err := Run([]Case{{Model: model, Inputs: []*npy.Array{
		mustArray(t, a, shape...), mustArray(t, b, shape...), mustArray(t, c, shape...), mustArray(t, d, shape...),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !reflect.DeepEqual(r.Names, []string{"x", "y"}) || !reflect.DeepEqual(r.InputNames, []string{"a", "b", "c", "d"}) {
		t.Fatalf("names %v, inputs %v", r.Names, r.InputNames)
	}
	x, y := make([]float32, 192), make([]float32, 192)
	for i := range x {
		x[i] = a[i] + (b[i] + c[i])
		y[i] = d[i] + (b[i] + c[i])
	}
	checkFloat32(t, "x", r.Outputs[0], shape, x)
	checkFloat32(t, "y", r.Outputs[1], shape, y)
}

// A batch with broken cases: each fails alone, the others still run.
func TestBatchIsolatesFailures(t *testing.T) {
	Require(t)
	good := []*npy.Array{mustArray(t, ramp(192, 1, 0), 1, 8, 8, 3)}
	res, err := Run([]Case{
		{ModelPath: "testdata/add.bin", Inputs: good},
		{Model: []byte("definitely not a flatbuffer"), Inputs: good},
		{ModelPath: "testdata/add.bin"}, // no inputs
		{ModelPath: "testdata/add.bin", Inputs: []*npy.Array{mustArray(t, make([]int32, 192), 1, 8, 8, 3)}},
		{ModelPath: "testdata/add.bin", Inputs: []*npy.Array{mustArray(t, make([]float32, 6), 2, 3)}},
		{},
		{ModelPath: "testdata/missing.tflite", Inputs: good},
		{ModelPath: "testdata/add.bin", Inputs: good, API: "bogus"},
		{ModelPath: "testdata/add.bin", Inputs: good},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantErr := []string{
		"",
		"", // any message
		"model has 1 inputs, case gives 0",
		"model wants float32, .npy is int32",
		"",
		"neither Model nor ModelPath",
		"no such file",
		"unknown api",
		"",
	}
	for i, r := range res {
		t.Logf("case %d: err=%v", i, r.Err)
		switch {
		case i == 0 || i == len(res)-1:
			if r.Err != nil {
				t.Errorf("case %d: %v", i, r.Err)
			} else {
				checkFloat32(t, fmt.Sprintf("case %d", i), r.Outputs[0], []int{1, 8, 8, 3}, ramp(192, 3, 0))
			}
		case r.Err == nil:
			t.Errorf("case %d succeeded, want an error", i)
		case !strings.Contains(r.Err.Error(), wantErr[i]):
			t.Errorf("case %d: error %q, want it to contain %q", i, r.Err, wantErr[i])
		}
	}
}

// int8 tensors are outside LiteRT.js's JS tensor API; run.mjs takes the
// low-level path. The model: x int8 (scale 0.5, zero point -1) →
// DEQUANTIZE → y float32 → QUANTIZE → z int8 (scale 0.25, zero point 3).
// Its SignatureDef lists the outputs as (z "a_int8", y "b_float") while the
// subgraph lists (y, z): results follow the subgraph, neither the
// SignatureDef's list nor the names' alphabetical order.
func TestInt8LowLevelAndSignatureOrder(t *testing.T) {
	Require(t)
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Int8, []int{5}, &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{-1}})
	y := b.Tensor("y", tflite.Float32, []int{5}, nil)
	z := b.Tensor("z", tflite.Int8, []int{5}, &tflite.Quantization{Scale: []float32{0.25}, ZeroPoint: []int64{3}})
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{x}, y)
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{y}, z)
	b.Output(y, z)
	m := b.Model()
	m.SignatureDefs = []tflite.SignatureDef{{
		Key:     "serving_default",
		Inputs:  []tflite.TensorMap{{Name: "in", Tensor: x}},
		Outputs: []tflite.TensorMap{{Name: "a_int8", Tensor: z}, {Name: "b_float", Tensor: y}},
	}}
	withSig, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m.SignatureDefs = nil
	noSig, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	q := []int8{-128, -1, 0, 60, 127}
	wantY := make([]float32, len(q))
	wantZ := make([]int8, len(q))
	for i, v := range q {
		wantY[i] = 0.5 * float32(int(v)+1)
		wantZ[i] = int8(max(-128, min(127, int(math.RoundToEven(float64(wantY[i]/0.25)))+3)))
	}
	in := []*npy.Array{mustArray(t, q)}
	res, err := Run([]Case{{Model: withSig, Inputs: in}, {Model: noSig, Inputs: in}, {Model: noSig, Inputs: in, API: "public"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, order := range [][]string{{"b_float", "a_int8"}, {"y", "z"}} {
		r := res[i]
		if r.Err != nil {
			t.Fatalf("case %d: %v", i, r.Err)
		}
		if r.API != "lowlevel" || !reflect.DeepEqual(r.Names, order) {
			t.Fatalf("case %d: api %s names %v, want lowlevel %v", i, r.API, r.Names, order)
		}
		checkFloat32(t, "y", r.Outputs[0], []int{5}, wantY)
		if got := r.Outputs[1]; got.DType != "int8" || !reflect.DeepEqual(got.Data, wantZ) {
			t.Errorf("case %d: z = %s %v, want int8 %v", i, got.DType, got.Data, wantZ)
		}
	}
	if res[1].Signature != "<placeholder signature>" {
		t.Logf("signature key of a model without SignatureDefs: %q", res[1].Signature)
	}
	// The documented API refuses int8 tensors.
	if res[2].Err == nil || !strings.Contains(res[2].Err.Error(), "INT8") {
		t.Errorf("public API with int8: err = %v, want an INT8 error", res[2].Err)
	}
}

type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
}

func TestRequireSkipsOrFails(t *testing.T) {
	saved := availableFn
	defer func() { availableFn = saved }()
	availableFn = func() (string, string, error) { return "", "", errors.New("no node here") }

	t.Setenv(RequireEnv, "")
	var f fakeTB
	Require(&f)
	if !f.skipped || f.failed || !strings.Contains(f.msg, "no node here") {
		t.Errorf("without %s: skipped=%v failed=%v msg=%q", RequireEnv, f.skipped, f.failed, f.msg)
	}
	t.Setenv(RequireEnv, "1")
	f = fakeTB{}
	Require(&f)
	if f.skipped || !f.failed || !strings.Contains(f.msg, "no node here") {
		t.Errorf("with %s=1: skipped=%v failed=%v msg=%q", RequireEnv, f.skipped, f.failed, f.msg)
	}
	if _, err := Run([]Case{{ModelPath: "x"}}); err == nil || !strings.Contains(err.Error(), "no node here") {
		t.Errorf("Run with the harness unavailable: %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "litert", "package.json")); err != nil {
		t.Fatalf("RepoRoot %s: %v", root, err)
	}
}

// fakeScript stands in for run.mjs to exercise RunContext's restart logic:
// a model file containing "trap" records a failed result and exits 3 (as
// run.mjs does after a wasm trap), "crash" kills the process without a
// result, anything else succeeds with no outputs. Each start is logged.
const fakeScript = `
import fs from 'node:fs';
const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
fs.appendFileSync(process.env.FAKE_LOG, job.cases.length + '\n');
if (process.env.FAKE_NOT_READY) { console.error('cannot load runtime'); process.exit(1); }
console.log(JSON.stringify({ready: true}));
for (const c of job.cases) {
  const m = fs.readFileSync(c.model, 'utf8');
  if (m.includes('crash')) { console.error('boom on ' + m); process.exit(9); }
  const res = m.includes('trap') ? {ok: false, error: 'wasm trap: unreachable'} : {ok: true, api: 'public', signature: m, outputs: [], input_details: []};
  fs.writeFileSync(c.outdir + '/result.json', JSON.stringify(res));
  if (m.includes('trap')) process.exit(3);
}
`

func TestRunRestartsAfterCrash(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "fake.mjs")
	if err := os.WriteFile(script, []byte(fakeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "log")
	t.Setenv("FAKE_LOG", log)
	saved := scriptFn
	defer func() { scriptFn = saved }()
	scriptFn = func(string) string { return script }

	models := []string{"ok0", "trap1", "ok2", "crash3", "ok4", "crash5", "trap6"}
	var cases []Case
	for _, m := range models {
		cases = append(cases, Case{Model: []byte(m)})
	}
	res, err := Run(cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range models {
		r := res[i]
		switch {
		case strings.HasPrefix(m, "ok"):
			if r.Err != nil || r.Signature != m {
				t.Errorf("%s: err %v signature %q", m, r.Err, r.Signature)
			}
		case strings.HasPrefix(m, "trap"):
			if r.Err == nil || !strings.Contains(r.Err.Error(), "wasm trap") {
				t.Errorf("%s: err %v", m, r.Err)
			}
		case strings.HasPrefix(m, "crash"):
			if r.Err == nil || !strings.Contains(r.Err.Error(), "node died") || !strings.Contains(r.Err.Error(), "boom on "+m) {
				t.Errorf("%s: err %v", m, r.Err)
			}
		}
	}
	starts, _ := os.ReadFile(log)
	if got := strings.Fields(string(starts)); !reflect.DeepEqual(got, []string{"7", "5", "3", "1"}) {
		t.Errorf("batch sizes per node start: %v, want [7 5 3 1]", got)
	}

	t.Setenv("FAKE_NOT_READY", "1")
	if _, err := Run(cases[:1]); err == nil || !strings.Contains(err.Error(), "cannot load runtime") {
		t.Errorf("not ready: err %v", err)
	}
}

// Warmup and Repeat: one positive run time per timed run, on both API
// paths, with the runtime's variant and thread count reported.
func TestRepeatTimesRuns(t *testing.T) {
	Require(t)
	in := []*npy.Array{mustArray(t, ramp(192, 0.25, -10), 1, 8, 8, 3)}
	res, err := Run([]Case{
		{ModelPath: "testdata/add.bin", Inputs: in, Warmup: 2, Repeat: 5},
		{ModelPath: "testdata/add.bin", Inputs: in, Warmup: 1, Repeat: 5, API: "lowlevel"},
		{ModelPath: "testdata/add.bin", Inputs: in},
		{ModelPath: "testdata/add.bin", Inputs: in, Repeat: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:3] {
		if r.Err != nil {
			t.Fatalf("case %d: %v", i, r.Err)
		}
		want := 5
		if i == 2 {
			want = 1
		}
		if len(r.RunTimes) != want {
			t.Fatalf("case %d (%s): %d run times %v, want %d", i, r.API, len(r.RunTimes), r.RunTimes, want)
		}
		for k, d := range r.RunTimes {
			if d <= 0 {
				t.Errorf("case %d (%s): run %d took %v", i, r.API, k, d)
			}
		}
		if r.CompileTime <= 0 {
			t.Errorf("case %d (%s): compile time %v", i, r.API, r.CompileTime)
		}
		if r.Variant == "" || r.Threads < 1 {
			t.Errorf("case %d (%s): variant %q threads %d", i, r.API, r.Variant, r.Threads)
		}
		checkFloat32(t, fmt.Sprintf("case %d (%s) output", i, r.API), r.Outputs[0], []int{1, 8, 8, 3}, ramp(192, 0.75, -30))
		t.Logf("case %d (%s): %s, %d thread(s), compile %v, runs %v", i, r.API, r.Variant, r.Threads, r.CompileTime, r.RunTimes)
	}
	if res[0].API != "public" || res[1].API != "lowlevel" {
		t.Errorf("APIs %q %q, want public lowlevel", res[0].API, res[1].API)
	}
	if res[3].Err == nil || !strings.Contains(res[3].Err.Error(), "negative") {
		t.Errorf("Repeat -1: err = %v", res[3].Err)
	}
}
