package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/tflite"
)

func init() {
	register(&command{
		name:    "run",
		summary: "run any supported .tflite model on .npy inputs, write .npy outputs",
		usage:   "MODEL.tflite --input NAME=FILE.npy ... --output-dir DIR [flags]",
		example: "lsms run model.tflite --input image=slice.npy --input 1=words.npy --output-dir out/ --threads 2",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			inputs := fs.StringArray("input", nil, "input as NAME=FILE.npy (tensor or signature name) or INDEX=FILE.npy; repeat per input")
			outDir := fs.String("output-dir", "", "folder for the outputs, one OUTPUT_NAME.npy each (required)")
			threads := fs.Int("threads", 1, "kernel threads")
			be := fs.String("backend", "native", "backend: "+strings.Join(backend.Names(), ", "))
			sig := fs.String("signature", "", "signature def key (default: subgraph 0)")
			asJSON := fs.Bool("json", false, "print a JSON summary")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) != 1 {
					return usagef("want one MODEL.tflite, got %d arguments", len(args))
				}
				if *outDir == "" {
					return usagef("--output-dir is required")
				}
				return runModel(args[0], *inputs, *outDir, *threads, *be, *sig, *asJSON, stdout)
			}
		},
	})
}

type runSummary struct {
	Model    string          `json:"model"`
	Backend  string          `json:"backend"`
	Threads  int             `json:"threads"`
	InvokeMS float64         `json:"invoke_ms"`
	Outputs  []runOutputInfo `json:"outputs"`
}

type runOutputInfo struct {
	Name   string    `json:"name"`
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	File   string    `json:"file"`
	Values []float64 `json:"values,omitempty"` // small outputs (≤ 16 elements) only
}

func runModel(path string, inputs []string, outDir string, threads int, beName, sig string, asJSON bool, stdout io.Writer) error {
	be, err := backend.Get(beName)
	if err != nil {
		return err
	}
	f, err := tflite.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sess, err := be.Open(f.Model, backend.Options{Threads: threads, Signature: sig, Flatbuffer: f.Bytes()})
	if err != nil {
		return err
	}
	defer sess.Close()
	infos := sess.Inputs()
	given := make([]bool, len(infos))
	for _, spec := range inputs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return usagef("--input %q: want NAME=FILE.npy", spec)
		}
		idx := -1
		for i, in := range infos {
			if in.Name == name {
				idx = i
			}
		}
		if idx < 0 {
			if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < len(infos) {
				idx = n
			}
		}
		if idx < 0 {
			var names []string
			for _, in := range infos {
				names = append(names, in.Name)
			}
			return fmt.Errorf("--input %q: the model has no input %q (inputs: %s)", spec, name, strings.Join(names, ", "))
		}
		arr, err := npy.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--input %s: %w", name, err)
		}
		info := infos[idx]
		if arr.DType != strings.ToLower(info.Type.String()) {
			return fmt.Errorf("--input %s: %s holds %s, input %q is %v", name, file, arr.DType, info.Name, info.Type)
		}
		if !sameDims(arr.Shape, info.Shape) {
			return fmt.Errorf("--input %s: %s has shape %v, input %q needs %v", name, file, arr.Shape, info.Name, info.Shape)
		}
		if err := sess.SetInput(idx, arr.Data); err != nil {
			return fmt.Errorf("--input %s: %w", name, err)
		}
		given[idx] = true
	}
	for i, ok := range given {
		if !ok {
			return usagef("input %d %q (%v %v) not given", i, infos[i].Name, infos[i].Type, infos[i].Shape)
		}
	}
	t0 := time.Now()
	if err := sess.Invoke(); err != nil {
		return err
	}
	dur := time.Since(t0)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	sum := runSummary{Model: path, Backend: beName, Threads: threads, InvokeMS: float64(dur.Microseconds()) / 1000}
	for i, o := range sess.Outputs() {
		data, err := makeSlice(o.Type, o.Shape)
		if err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
		arr, err := npy.New(data, o.Shape...)
		if err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
		if err := sess.Output(i, arr.Data); err != nil {
			return err
		}
		file := filepath.Join(outDir, safeName(o.Name, i)+".npy")
		if err := npy.WriteFile(file, arr); err != nil {
			return err
		}
		info := runOutputInfo{Name: o.Name, DType: arr.DType, Shape: o.Shape, File: file}
		if arr.Len() <= 16 {
			info.Values = arr.Float64s()
		}
		sum.Outputs = append(sum.Outputs, info)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(stdout, "%s: invoke %.2f ms on %s (%d threads)\n", path, sum.InvokeMS, beName, threads)
	for _, o := range sum.Outputs {
		fmt.Fprintf(stdout, "  %s %s %v -> %s\n", o.Name, o.DType, o.Shape, o.File)
		if o.Values != nil {
			fmt.Fprintf(stdout, "    %.6g\n", o.Values)
		}
	}
	return nil
}

func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// safeName turns a tensor name into a file name.
func safeName(name string, i int) string {
	if name == "" {
		return fmt.Sprintf("output_%d", i)
	}
	r := strings.NewReplacer("/", "_", "\\", "_", ":", "_", " ", "_", "..", "_")
	return r.Replace(name)
}

// makeSlice allocates a typed slice for a tensor of the given type and shape.
func makeSlice(dt tflite.DType, shape []int) (any, error) {
	n := int(tflite.NumElements(shape))
	if n < 0 {
		return nil, fmt.Errorf("bad shape %v", shape)
	}
	switch dt {
	case tflite.Float32:
		return make([]float32, n), nil
	case tflite.Int8:
		return make([]int8, n), nil
	case tflite.UInt8:
		return make([]uint8, n), nil
	case tflite.Int16:
		return make([]int16, n), nil
	case tflite.Int32:
		return make([]int32, n), nil
	case tflite.Int64:
		return make([]int64, n), nil
	case tflite.Bool:
		return make([]bool, n), nil
	}
	return nil, fmt.Errorf("outputs of type %v cannot be written as .npy", dt)
}
