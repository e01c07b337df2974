package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/tflite/inspect"
)

var inspectTF = filepath.Join("..", "..", "tflite", "testdata", "tf")

func runInspect(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"inspect"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspectText(t *testing.T) {
	code, out, errs := runInspect(t, filepath.Join(inspectTF, "add_quantized_int8.bin"))
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, line := range []string{
		"model: " + filepath.Join(inspectTF, "add_quantized_int8.bin"),
		"  input  INT8  [1,8,8,3]  scale=0.003922 zero_point=0",
		"  output  INT8  [1,8,8,3]  scale=0.003922 zero_point=0",
		"  ADD  2",
		"parameters: 0 in 0 B",
		"  GPU: fully delegable",
		"  XNNPACK: 0 partitions, first unsupported op: #0 ADD: mixed types INT8, INT8 -> FLOAT32",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("output lacks line %q:\n%s", line, out)
		}
	}
}

func TestInspectTextLSTM(t *testing.T) {
	code, out, _ := runInspect(t, filepath.Join(inspectTF, "lstm.bin"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, line := range []string{
		"  LSTM  1",
		"  FLOAT32  18 tensors  54 elements  216 B",
		`  GPU: 0 partitions, first unsupported op: #0 LSTM: rank 0 (scalar) output "output24"`,
		"  XNNPACK: 0 partitions, first unsupported op: #0 LSTM: op type LSTM not supported by XNNPACK",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("output lacks line %q:\n%s", line, out)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	path := filepath.Join(inspectTF, "multi_add.bin")
	code, out, errs := runInspect(t, path, "--json")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var r inspect.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Path != path || r.Operators != 3 || r.OpCounts["ADD"] != 3 || len(r.Inputs) != 4 || len(r.Outputs) != 2 || len(r.Ops) != 3 {
		t.Errorf("report %+v", r)
	}
	if in := r.Inputs[0]; in.Name != "a" || in.DType != "FLOAT32" || len(in.Shape) != 4 {
		t.Errorf("input 0 %+v", in)
	}
	if len(r.Delegates) != 2 || r.Delegates[0].Name != "GPU" || r.Delegates[1].Name != "XNNPACK" {
		t.Fatalf("delegates %+v", r.Delegates)
	}
	for _, d := range r.Delegates {
		if !d.FullyDelegable || d.Partitions != 1 || d.Verdict != "fully delegable" {
			t.Errorf("%+v", d)
		}
	}
	for _, op := range r.Ops {
		if op.Op != "ADD" || !op.GPU.OK || !op.XNNPACK.OK {
			t.Errorf("op %+v", op)
		}
	}
	// Also a generic decode: the field names are part of the interface.
	var generic map[string]any
	if err := json.Unmarshal([]byte(out), &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"inputs", "outputs", "op_counts", "params_by_dtype", "ops", "delegates"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

func TestInspectTruncated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(inspectTF, "lstm.bin"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "truncated.tflite")
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runInspect(t, path)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	if !strings.HasPrefix(errs, "lsms inspect: "+path+": ") || !strings.Contains(errs, "invalid tflite model") {
		t.Errorf("stderr %q", errs)
	}
}

func TestInspectBroken(t *testing.T) {
	code, _, errs := runInspect(t, filepath.Join(inspectTF, "test_model_broken.bin"), "--json")
	if code != exitFailure || !strings.Contains(errs, `missing "TFL3" file identifier`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = runInspect(t, filepath.Join(t.TempDir(), "missing.tflite"))
	if code != exitFailure || !strings.Contains(errs, "missing.tflite") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestInspectUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"a.tflite", "b.tflite"}, {"--bogus", "a.tflite"}} {
		code, out, errs := runInspect(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if out != "" || errs == "" {
			t.Errorf("%v: stdout %q, stderr %q", args, out, errs)
		}
	}
	code, _, errs := runInspect(t)
	if !strings.Contains(errs, "usage: lsms inspect MODEL.tflite [--json]") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
