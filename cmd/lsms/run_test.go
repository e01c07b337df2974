package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/tflite"
)

// TestRunMatchesLiteRTOnConverterModels runs .tflite files written by
// TensorFlow's converter through `lsms run` and through LiteRT.
func TestRunMatchesLiteRTOnConverterModels(t *testing.T) {
	litert.Require(t)
	models := []string{"add.bin", "multi_add.bin"}
	rng := rand.New(rand.NewPCG(3, 4))
	var cases []litert.Case
	var ours [][]*npy.Array
	for _, name := range models {
		path := filepath.Join("..", "..", "tflite", "testdata", "tf", name)
		m, err := tflite.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		args := []string{"run", path, "--output-dir", filepath.Join(dir, "out")}
		var inputs []*npy.Array
		sg := m.Subgraphs[0]
		for k, ti := range sg.Inputs {
			tt := sg.Tensors[ti]
			data := make([]float32, tt.NumElements())
			for i := range data {
				data[i] = float32(rng.NormFloat64())
			}
			a, err := npy.New(data, tt.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, tt.Name+".npy")
			if err := npy.WriteFile(f, a); err != nil {
				t.Fatal(err)
			}
			// Mix tensor names and indices.
			key := tt.Name
			if k%2 == 1 {
				key = string(rune('0' + k))
			}
			args = append(args, "--input", key+"="+f)
			inputs = append(inputs, a)
		}
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errb.String())
		}
		var outs []*npy.Array
		for _, ti := range sg.Outputs {
			a, err := npy.ReadFile(filepath.Join(dir, "out", safeName(sg.Tensors[ti].Name, 0)+".npy"))
			if err != nil {
				t.Fatalf("%s: %v (stdout %s)", name, err, out.String())
			}
			outs = append(outs, a)
		}
		ours = append(ours, outs)
		cases = append(cases, litert.Case{ModelPath: path, Inputs: inputs})
	}
	res, err := litert.Run(cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: LiteRT: %v", models[i], r.Err)
		}
		if len(r.Outputs) != len(ours[i]) {
			t.Fatalf("%s: %d outputs vs %d", models[i], len(r.Outputs), len(ours[i]))
		}
		for k := range r.Outputs {
			a, b := r.Outputs[k].Data.([]float32), ours[i][k].Data.([]float32)
			for j := range a {
				if math.Abs(float64(a[j]-b[j])) > 1e-5*max(1, math.Abs(float64(a[j]))) {
					t.Fatalf("%s output %d element %d: LiteRT %g, lsms run %g", models[i], k, j, a[j], b[j])
				}
			}
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "tflite", "testdata", "tf", "add.bin")
	bad := filepath.Join(dir, "bad.npy")
	a, _ := npy.New(make([]float32, 3), 3)
	npy.WriteFile(bad, a)
	trunc := filepath.Join(dir, "trunc.tflite")
	data, _ := os.ReadFile(model)
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", model}, 2, "--output-dir is required"},
		{[]string{"run", model, "--output-dir", dir}, 2, "not given"},
		{[]string{"run", model, "--output-dir", dir, "--input", "nope=" + bad}, 1, `has no input "nope"`},
		{[]string{"run", model, "--output-dir", dir, "--input", "0=" + bad}, 1, "has shape [3]"},
		{[]string{"run", model, "--output-dir", dir, "--input", "0=" + filepath.Join(dir, "missing.npy")}, 1, "missing.npy"},
		{[]string{"run", trunc, "--output-dir", dir}, 1, "invalid tflite model"},
		{[]string{"run", model, "--output-dir", dir, "--backend", "gpu"}, 1, `no such backend "gpu"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}
