package inspect

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func tfModel(t *testing.T, name string) *Report {
	t.Helper()
	f, err := tflite.Open(filepath.Join("..", "testdata", "tf", name))
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(f.Model)
	// The report must not alias the mapping.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

// roundTrip serialises and re-reads a built model, so that every test graph
// is one the validating reader accepts.
func roundTrip(t *testing.T, b *tflite.Builder) *tflite.Model {
	t.Helper()
	data, err := b.Model().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func delegate(t *testing.T, r *Report, name string) DelegateSummary {
	t.Helper()
	for _, d := range r.Delegates {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no %s summary in %+v", name, r.Delegates)
	return DelegateSummary{}
}

func TestTFAdd(t *testing.T) {
	r := tfModel(t, "add.bin")
	if len(r.Inputs) != 1 || r.Inputs[0].Name != "input" || r.Inputs[0].DType != "FLOAT32" || !reflect.DeepEqual(r.Inputs[0].Shape, []int{1, 8, 8, 3}) || r.Inputs[0].Quant != nil {
		t.Errorf("inputs %+v", r.Inputs)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Name != "output" {
		t.Errorf("outputs %+v", r.Outputs)
	}
	if !reflect.DeepEqual(r.OpCounts, map[string]int{"ADD": 2}) {
		t.Errorf("op counts %v", r.OpCounts)
	}
	if len(r.ParamsByDType) != 0 || r.TotalParams != 0 || r.TotalBytes != 0 {
		t.Errorf("params %v %d %d", r.ParamsByDType, r.TotalParams, r.TotalBytes)
	}
	if len(r.Ops) != 2 || !reflect.DeepEqual(r.Ops[0].Outputs[0].Shape, []int{1, 8, 8, 3}) || len(r.Ops[0].Inputs) != 2 {
		t.Errorf("ops %+v", r.Ops)
	}
	for _, name := range []string{GPU, XNNPACK} {
		d := delegate(t, r, name)
		if !d.FullyDelegable || d.Partitions != 1 || d.Verdict != "fully delegable" || d.DelegableOps != 2 {
			t.Errorf("%s: %+v", name, d)
		}
	}
}

func TestTFMultiAdd(t *testing.T) {
	r := tfModel(t, "multi_add.bin")
	if len(r.Inputs) != 4 || len(r.Outputs) != 2 || r.OpCounts["ADD"] != 3 {
		t.Errorf("%d inputs, %d outputs, %v", len(r.Inputs), len(r.Outputs), r.OpCounts)
	}
	for _, d := range r.Delegates {
		if !d.FullyDelegable || d.Partitions != 1 || d.AllPartitions != 1 {
			t.Errorf("%+v", d)
		}
	}
}

// add_quantized_int8.bin adds INT8 inputs into a FLOAT32 intermediate and
// back: the GPU delegate (quantized models enabled) dequantizes and takes
// it; XNNPACK refuses mixed-type ADDs.
func TestTFAddQuantizedInt8(t *testing.T) {
	r := tfModel(t, "add_quantized_int8.bin")
	in := r.Inputs[0]
	if in.DType != "INT8" || in.Quant == nil || len(in.Quant.Scale) != 1 || in.Quant.ZeroPoint[0] != 0 {
		t.Errorf("input %+v", in)
	}
	g := delegate(t, r, GPU)
	if !g.FullyDelegable || g.Verdict != "fully delegable" {
		t.Errorf("GPU %+v", g)
	}
	x := delegate(t, r, XNNPACK)
	want := "0 partitions, first unsupported op: #0 ADD: mixed types INT8, INT8 -> FLOAT32"
	if x.FullyDelegable || x.Partitions != 0 || x.Verdict != want {
		t.Errorf("XNNPACK %+v\nwant verdict %q", x, want)
	}
}

func TestTFLSTM(t *testing.T) {
	r := tfModel(t, "lstm.bin")
	if r.OpCounts["LSTM"] != 1 {
		t.Errorf("op counts %v", r.OpCounts)
	}
	if want := (ParamStats{Tensors: 18, Elements: 54, Bytes: 216}); r.ParamsByDType["FLOAT32"] != want {
		t.Errorf("params %+v, want %+v", r.ParamsByDType, want)
	}
	op := r.Ops[0]
	if len(op.Inputs) != 24 || op.Inputs[9].Tensor != -1 || !op.Inputs[1].Const || op.Inputs[0].Const {
		t.Errorf("LSTM operands %+v", op.Inputs)
	}
	g := delegate(t, r, GPU)
	if g.FullyDelegable || g.Partitions != 0 || op.GPU.OK || !strings.Contains(op.GPU.Reason, "rank 0") {
		t.Errorf("GPU %+v, op %+v", g, op.GPU)
	}
	if !strings.HasPrefix(g.Verdict, "0 partitions, first unsupported op: #0 LSTM: ") {
		t.Errorf("GPU verdict %q", g.Verdict)
	}
	x := delegate(t, r, XNNPACK)
	if x.FullyDelegable || x.FirstUnsupported != "#0 LSTM: op type LSTM not supported by XNNPACK" {
		t.Errorf("XNNPACK %+v", x)
	}
}

// The same LSTM with a proper [1,2] output is accepted by the GPU delegate's
// LSTM rules, but not by its op list if its kernel options are wrong.
func TestGPULSTMRules(t *testing.T) {
	m, err := tflite.ReadFile(filepath.Join("..", "testdata", "tf", "lstm.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sg := m.Subgraphs[0]
	sg.Tensors[sg.Operators[0].Outputs[0]].Shape = []int{1, 2}
	if v := Analyze(m).Ops[0].GPU; !v.OK {
		t.Errorf("full LSTM with rank-2 output: %+v", v)
	}
	sg.Operators[0].Options.(*schema.LSTMOptionsT).FusedActivationFunction = schema.ActivationFunctionTypeRELU
	if v := Analyze(m).Ops[0].GPU; v.OK || !strings.Contains(v.Reason, "LSTM with activation RELU") {
		t.Errorf("LSTM with RELU: %+v", v)
	}
}

// op builds a one-operator model and returns its verdicts.
type opCase struct {
	name     string
	build    func(b *tflite.Builder)
	gpu, xnn string // "" = accepted, else a substring of the reason
}

func runCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := tflite.NewBuilder("main")
			c.build(b)
			r := Analyze(roundTrip(t, b))
			last := r.Ops[len(r.Ops)-1]
			for _, v := range []struct {
				name string
				got  Verdict
				want string
			}{{GPU, last.GPU, c.gpu}, {XNNPACK, last.XNNPACK, c.xnn}} {
				switch {
				case v.want == "" && !v.got.OK:
					t.Errorf("%s rejects %s: %s", v.name, last.Op, v.got.Reason)
				case v.want != "" && v.got.OK:
					t.Errorf("%s accepts %s, want rejection %q", v.name, last.Op, v.want)
				case v.want != "" && !strings.Contains(v.got.Reason, v.want):
					t.Errorf("%s reason %q, want it to contain %q", v.name, v.got.Reason, v.want)
				}
			}
		})
	}
}

var (
	f32 = tflite.Float32
	q8  = &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{0}}
)

func addOpts(a schema.ActivationFunctionType) *schema.AddOptionsT {
	return &schema.AddOptionsT{FusedActivationFunction: a}
}

// binary adds x (shape) + y (shape) of type dt.
func binary(code schema.BuiltinOperator, opts any, dt tflite.DType, shape []int, q *tflite.Quantization) func(*tflite.Builder) {
	return func(b *tflite.Builder) {
		x := b.Input("x", dt, shape, q)
		y := b.Input("y", dt, shape, q)
		z := b.Tensor("z", dt, shape, q)
		b.Op(code, opts, []int{x, y}, z)
		b.Output(z)
	}
}

func TestRank(t *testing.T) {
	runCases(t, []opCase{
		{"rank4", binary(schema.BuiltinOperatorADD, addOpts(0), f32, []int{1, 2, 3, 4}, nil), "", ""},
		{"rank5", binary(schema.BuiltinOperatorADD, addOpts(0), f32, []int{1, 2, 3, 4, 5}, nil), `rank 5 input "x"`, ""},
		{"rank7", binary(schema.BuiltinOperatorADD, addOpts(0), f32, []int{1, 1, 2, 1, 3, 1, 4}, nil), "rank 7 input", "rank 7 input"},
		{"scalar", binary(schema.BuiltinOperatorADD, addOpts(0), f32, []int{}, nil), "rank 0 (scalar) input", ""},
	})
}

func TestFusedActivation(t *testing.T) {
	var cases []opCase
	for a, want := range map[schema.ActivationFunctionType][2]string{
		schema.ActivationFunctionTypeNONE:         {"", ""},
		schema.ActivationFunctionTypeRELU:         {"", ""},
		schema.ActivationFunctionTypeRELU6:        {"", ""},
		schema.ActivationFunctionTypeRELU_N1_TO_1: {"", ""},
		schema.ActivationFunctionTypeTANH:         {"", "fused activation TANH"},
		schema.ActivationFunctionTypeSIGN_BIT:     {"fused activation SIGN_BIT", "fused activation SIGN_BIT"},
	} {
		cases = append(cases, opCase{activationName(a), binary(schema.BuiltinOperatorADD, addOpts(a), f32, []int{1, 4}, nil), want[0], want[1]})
	}
	runCases(t, cases)
}

func TestDTypes(t *testing.T) {
	perChannel := &tflite.Quantization{Scale: []float32{0.5, 0.25}, ZeroPoint: []int64{0, 0}, Dim: 1}
	runCases(t, []opCase{
		{"float16", binary(schema.BuiltinOperatorADD, addOpts(0), tflite.Float16, []int{1, 2}, nil), "", "FLOAT16 input"},
		{"qs8", binary(schema.BuiltinOperatorADD, addOpts(0), tflite.Int8, []int{1, 2}, q8), "", ""},
		{"qu8", binary(schema.BuiltinOperatorADD, addOpts(0), tflite.UInt8, []int{1, 2}, q8), "", ""},
		{"int8 per channel", binary(schema.BuiltinOperatorADD, addOpts(0), tflite.Int8, []int{1, 2}, perChannel), "", "quantized per channel"},
		{"int32", binary(schema.BuiltinOperatorADD, addOpts(0), tflite.Int32, []int{1, 2}, nil), "INT32 input", "INT32 input"},
		{"qs8 only for ELU", func(b *tflite.Builder) {
			x := b.Input("x", tflite.UInt8, []int{1, 4}, q8)
			y := b.Tensor("y", tflite.UInt8, []int{1, 4}, q8)
			b.Op(schema.BuiltinOperatorELU, nil, []int{x}, y)
			b.Output(y)
		}, "", "UINT8 input"},
		{"quantized ADD scales", func(b *tflite.Builder) {
			x := b.Input("x", tflite.Int8, []int{1, 4}, q8)
			y := b.Input("y", tflite.Int8, []int{1, 4}, q8)
			z := b.Tensor("z", tflite.Int8, []int{1, 4}, &tflite.Quantization{Scale: []float32{1e-4}, ZeroPoint: []int64{0}})
			b.Op(schema.BuiltinOperatorADD, addOpts(0), []int{x, y}, z)
			b.Output(z)
		}, "", "scale ratio"},
	})
}

func TestOpTypes(t *testing.T) {
	runCases(t, []opCase{
		{"gather", func(b *tflite.Builder) {
			x := b.Input("x", f32, []int{4, 2}, nil)
			i := b.Const("i", tflite.Int32, []int{2}, []int32{0, 3}, nil)
			y := b.Tensor("y", f32, []int{2, 2}, nil)
			b.Op(schema.BuiltinOperatorGATHER, &schema.GatherOptionsT{}, []int{x, i}, y)
			b.Output(y)
		}, "op type GATHER not supported by the GPU delegate", "op type GATHER not supported by XNNPACK"},
		{"custom", func(b *tflite.Builder) {
			x := b.Input("x", f32, []int{4}, nil)
			y := b.Tensor("y", f32, []int{4}, nil)
			b.Op(schema.BuiltinOperatorCUSTOM, nil, []int{x}, y).Code.Custom = "Sinh"
			b.Output(y)
		}, `custom op "Sinh" not supported by the GPU delegate`, `custom op "Sinh" not supported by XNNPACK`},
		{"tile", func(b *tflite.Builder) {
			x := b.Input("x", f32, []int{1, 4}, nil)
			m := b.Const("m", tflite.Int32, []int{2}, []int32{2, 1}, nil)
			y := b.Tensor("y", f32, []int{2, 4}, nil)
			b.Op(schema.BuiltinOperatorTILE, nil, []int{x, m}, y)
			b.Output(y)
		}, "", "op type TILE not supported by XNNPACK"},
		{"softmax beta", func(b *tflite.Builder) {
			x := b.Input("x", f32, []int{1, 4}, nil)
			y := b.Tensor("y", f32, []int{1, 4}, nil)
			b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 0.5}, []int{x}, y)
			b.Output(y)
		}, "SOFTMAX beta 0.5", "SOFTMAX beta 0.5"},
	})
}

func mean(axesType tflite.DType, constAxes bool) func(*tflite.Builder) {
	return func(b *tflite.Builder) {
		x := b.Input("x", f32, []int{1, 4, 4, 3}, nil)
		var axes int
		switch {
		case !constAxes:
			axes = b.Input("axes", tflite.Int32, []int{2}, nil)
		case axesType == tflite.Int64:
			axes = b.Const("axes", tflite.Int64, []int{2}, []int64{1, 2}, nil)
		default:
			axes = b.Const("axes", tflite.Int32, []int{2}, []int32{1, 2}, nil)
		}
		y := b.Tensor("y", f32, []int{1, 1, 1, 3}, nil)
		b.Op(schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: true}, []int{x, axes}, y)
		b.Output(y)
	}
}

func TestMean(t *testing.T) {
	runCases(t, []opCase{
		{"const int32 axes", mean(tflite.Int32, true), "", ""},
		{"const int64 axes", mean(tflite.Int64, true), "axes are INT64 (needs INT32)", "axes are INT64 (needs INT32)"},
		// The GPU delegate first counts inputs: one runtime, one constant.
		{"runtime axes", mean(tflite.Int32, false), "MEAN needs 1 constant input", "MEAN axes are not constant"},
	})
}

func resize(align, halfPixel bool) func(*tflite.Builder) {
	return func(b *tflite.Builder) {
		x := b.Input("x", f32, []int{1, 4, 4, 3}, nil)
		size := b.Const("size", tflite.Int32, []int{2}, []int32{8, 8}, nil)
		y := b.Tensor("y", f32, []int{1, 8, 8, 3}, nil)
		b.Op(schema.BuiltinOperatorRESIZE_BILINEAR, &schema.ResizeBilinearOptionsT{AlignCorners: align, HalfPixelCenters: halfPixel}, []int{x, size}, y)
		b.Output(y)
	}
}

func TestResizeBilinear(t *testing.T) {
	const both = "RESIZE_BILINEAR with align_corners and half_pixel_centers both set"
	runCases(t, []opCase{
		{"neither", resize(false, false), "", ""},
		{"align_corners", resize(true, false), "", ""},
		{"half_pixel_centers", resize(false, true), "", ""},
		{"both", resize(true, true), both, both},
	})
}

func batchMatMul(secondConst bool, secondShape []int) func(*tflite.Builder) {
	return func(b *tflite.Builder) {
		x := b.Input("x", f32, []int{2, 3, 4}, nil)
		var y int
		if secondConst {
			y = b.Const("w", f32, secondShape, make([]float32, tflite.NumElements(secondShape)), nil)
		} else {
			y = b.Input("y", f32, secondShape, nil)
		}
		z := b.Tensor("z", f32, []int{2, 3, 5}, nil)
		b.Op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{}, []int{x, y}, z)
		b.Output(z)
	}
}

func TestBatchMatMul(t *testing.T) {
	const gpuMsg = "BATCH_MATMUL needs two run-time inputs or a constant 2-D second input"
	runCases(t, []opCase{
		{"two runtime inputs", batchMatMul(false, []int{2, 4, 5}), "", ""},
		{"constant 2-D", batchMatMul(true, []int{4, 5}), "", ""},
		{"constant 3-D", batchMatMul(true, []int{2, 4, 5}), gpuMsg, ""},
	})
}

// conv builds a CONV_2D whose weights are float32 constants, float16
// constants behind a DEQUANTIZE (float16 quantization), or a run-time input.
func conv(weights string) func(*tflite.Builder) {
	return func(b *tflite.Builder) {
		x := b.Input("x", f32, []int{1, 4, 4, 2}, nil)
		var w int
		switch weights {
		case "float32":
			w = b.Const("w", f32, []int{3, 1, 1, 2}, make([]float32, 6), nil)
		case "float16":
			w16 := b.Const("w16", tflite.Float16, []int{3, 1, 1, 2}, make([]uint16, 6), nil)
			w = b.Tensor("w", f32, []int{3, 1, 1, 2}, nil)
			b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{w16}, w)
		case "runtime":
			w = b.Input("w", f32, []int{3, 1, 1, 2}, nil)
		}
		bias := b.Const("bias", f32, []int{3}, make([]float32, 3), nil)
		y := b.Tensor("y", f32, []int{1, 4, 4, 3}, nil)
		b.Op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideW: 1, StrideH: 1, DilationWFactor: 1, DilationHFactor: 1}, []int{x, w, bias}, y)
		b.Output(y)
	}
}

func TestConvWeights(t *testing.T) {
	runCases(t, []opCase{
		{"float32 weights", conv("float32"), "", ""},
		{"float16 weights via DEQUANTIZE", conv("float16"), "", ""},
		{"runtime weights", conv("runtime"), "", "CONV_2D filter is not constant"},
	})
	// The DEQUANTIZE of float16 weights is delegable too, so the model is one partition.
	b := tflite.NewBuilder("main")
	conv("float16")(b)
	r := Analyze(roundTrip(t, b))
	for _, d := range r.Delegates {
		if !d.FullyDelegable || d.Partitions != 1 || d.DelegableOps != 2 {
			t.Errorf("%+v", d)
		}
	}
	if !r.Ops[1].Inputs[1].Const || r.Ops[0].Inputs[0].DType != "FLOAT16" {
		t.Errorf("quasi-static weights not marked constant: %+v", r.Ops)
	}
	if s := r.ParamsByDType["FLOAT16"]; s != (ParamStats{Tensors: 1, Elements: 6, Bytes: 12}) {
		t.Errorf("FLOAT16 params %+v", s)
	}
}

// Partitions are maximal runs of delegable operators; the verdict names the
// first operator that breaks them.
func TestPartitions(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", f32, []int{4, 2}, nil)
	idx := b.Const("idx", tflite.Int32, []int{4}, []int32{3, 2, 1, 0}, nil)
	cur := x
	for i, code := range []schema.BuiltinOperator{
		schema.BuiltinOperatorRELU, schema.BuiltinOperatorGATHER,
		schema.BuiltinOperatorRELU, schema.BuiltinOperatorRELU6,
		schema.BuiltinOperatorGATHER, schema.BuiltinOperatorRELU,
	} {
		y := b.Tensor("t"+string(rune('a'+i)), f32, []int{4, 2}, nil)
		if code == schema.BuiltinOperatorGATHER {
			b.Op(code, &schema.GatherOptionsT{}, []int{cur, idx}, y)
		} else {
			b.Op(code, nil, []int{cur}, y)
		}
		cur = y
	}
	b.Output(cur)
	r := Analyze(roundTrip(t, b))
	want := DelegateSummary{
		Name: GPU, Partitions: 3, AllPartitions: 5, DelegableOps: 4, LargestPartition: 2,
		FirstUnsupported: "#1 GATHER: op type GATHER not supported by the GPU delegate",
		Verdict:          "3 partitions, first unsupported op: #1 GATHER: op type GATHER not supported by the GPU delegate",
		Note:             "with default options (max_delegated_partitions = 1) the GPU delegate takes only the largest partition of each subgraph: 2 of 6 operators",
	}
	if got := delegate(t, r, GPU); got != want {
		t.Errorf("GPU\n got %+v\nwant %+v", got, want)
	}
	x2 := delegate(t, r, XNNPACK)
	if x2.Partitions != 3 || x2.Note != "" || x2.Verdict != "3 partitions, first unsupported op: #1 GATHER: op type GATHER not supported by XNNPACK" {
		t.Errorf("XNNPACK %+v", x2)
	}
	if r.OpCounts["RELU"] != 3 || r.OpCounts["GATHER"] != 2 || r.OpCounts["RELU6"] != 1 {
		t.Errorf("op counts %v", r.OpCounts)
	}
}

func TestParamsSharedBuffer(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", f32, []int{4}, nil)
	c := b.Const("c", f32, []int{4}, []float32{1, 2, 3, 4}, nil)
	q := b.Const("q", tflite.Int8, []int{2, 3}, []int8{1, 2, 3, 4, 5, 6}, &tflite.Quantization{Scale: []float32{0.1, 0.2}, ZeroPoint: []int64{0, 0}})
	_ = q
	alias := b.Tensor("alias", f32, []int{4}, nil)
	b.TensorAt(alias).Buffer = b.TensorAt(c).Buffer
	y := b.Tensor("y", f32, []int{4}, nil)
	b.Op(schema.BuiltinOperatorADD, addOpts(0), []int{x, c}, y)
	z := b.Tensor("z", f32, []int{4}, nil)
	b.Op(schema.BuiltinOperatorADD, addOpts(0), []int{y, alias}, z)
	b.Output(z)
	r := Analyze(roundTrip(t, b))
	want := map[string]ParamStats{"FLOAT32": {Tensors: 1, Elements: 4, Bytes: 16}, "INT8": {Tensors: 1, Elements: 6, Bytes: 6}}
	if !reflect.DeepEqual(r.ParamsByDType, want) || r.TotalParams != 10 || r.TotalBytes != 22 {
		t.Errorf("params %+v total %d/%d", r.ParamsByDType, r.TotalParams, r.TotalBytes)
	}
}

func TestJSONAndText(t *testing.T) {
	r := tfModel(t, "add_quantized_int8.bin")
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("JSON round trip differs:\n%+v\n%+v", back, *r)
	}
	for _, key := range []string{`"inputs"`, `"op_counts"`, `"params_by_dtype"`, `"gpu":{"ok":true}`, `"xnnpack":{"ok":false,"reason":"mixed types`, `"fully_delegable":true`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s:\n%s", key, data)
		}
	}
	var out strings.Builder
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  input  INT8  [1,8,8,3]  scale=0.003922 zero_point=0",
		"ADD  2",
		"GPU: fully delegable",
		"XNNPACK: 0 partitions, first unsupported op: #0 ADD: mixed types INT8, INT8 -> FLOAT32",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("text lacks %q:\n%s", line, out.String())
		}
	}
}

// Every model in testdata/tf that validates can be analysed.
func TestAllTFModels(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "tf", "*.bin"))
	for _, p := range paths {
		m, err := tflite.ReadFile(p)
		if err != nil {
			continue
		}
		r := Analyze(m)
		n := 0
		for _, sg := range m.Subgraphs {
			n += len(sg.Operators)
		}
		if len(r.Ops) != n || len(r.Delegates) != 2 {
			t.Errorf("%s: %d ops for %d operators", p, len(r.Ops), n)
		}
		if err := r.WriteText(&strings.Builder{}); err != nil {
			t.Error(err)
		}
	}
}

// Odd operand lists (too few, omitted, constant, scalar, wrong options type)
// give verdicts, never panics, for every operator the tables know.
func TestOddOperands(t *testing.T) {
	codes := map[schema.BuiltinOperator]bool{}
	for c := range gpuOps {
		codes[c] = true
	}
	for c := range xnnOps {
		codes[c] = true
	}
	optionSets := []any{nil, &schema.AddOptionsT{}, &schema.Pool2DOptionsT{}, &schema.LSTMOptionsT{KernelType: schema.LSTMKernelTypeBASIC}}
	for code := range codes {
		for nIn := 0; nIn <= 5; nIn++ {
			for variant := 0; variant < 4; variant++ {
				for _, opts := range optionSets {
					b := tflite.NewBuilder("main")
					var ins []int
					for k := 0; k < nIn; k++ {
						switch (k + variant) % 4 {
						case 0:
							ins = append(ins, b.Input("r", tflite.Int8, []int{2, 3}, nil))
						case 1:
							ins = append(ins, b.Const("c", tflite.Int32, []int{2}, []int32{1, 2}, nil))
						case 2:
							ins = append(ins, -1)
						case 3:
							ins = append(ins, b.Input("s", tflite.UInt8, []int{}, q8))
						}
					}
					outs := []int{b.Tensor("o", tflite.Int8, []int{2, 3}, q8)}
					if variant == 3 {
						outs = append(outs, b.Tensor("o2", f32, []int{1}, nil))
					}
					b.Op(code, opts, ins, outs...)
					func() {
						defer func() {
							if p := recover(); p != nil {
								t.Fatalf("%s with %d inputs (variant %d, options %T): panic %v", tflite.OpName(code), nIn, variant, opts, p)
							}
						}()
						Analyze(b.Model())
					}()
				}
			}
		}
	}
}
