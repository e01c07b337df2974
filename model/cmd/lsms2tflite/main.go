// Command lsms2tflite converts train/export.py's safetensors weights into
// TFLite models (float32, NHWC, static shapes):
//
//	go run ./model/cmd/lsms2tflite -weights DIR/lsms.safetensors -size 160 -T 20 -out DIR
//
// writes DIR/lsms_text.tflite (ids [1,T] int32, mask [1,T] → words
// [1,T,C_l]), DIR/lsms_vision.tflite (image [1,S,S,1], words, mask →
// logits [1,S,S,1]) and, with -bundle, DIR/lsms.tflite holding both
// (signatures "text" and "vision"); -segment adds DIR/lsms_segment.tflite
// (one graph: image, ids, mask → logits). The config comes from the
// weights' metadata unless -config names an lsms.json. With -bench N it
// then times N invokes of each written model on zero/one inputs with our
// interpreter, for every -threads count. -gpu-gelu builds the vision
// GELUs from ops the TFLite GPU delegate accepts.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

func main() {
	weights := flag.String("weights", "", "lsms.safetensors written by train/export.py (required)")
	config := flag.String("config", "", "lsms.json (default: the weights' metadata)")
	size := flag.Int("size", 0, "input size S (required)")
	T := flag.Int("T", 0, "token count T (required)")
	out := flag.String("out", ".", "output folder")
	name := flag.String("name", "lsms", "file name prefix")
	bundle := flag.Bool("bundle", false, "also write NAME.tflite with signatures text and vision")
	segment := flag.Bool("segment", false, "also write NAME_segment.tflite (text + vision in one graph)")
	gpuGELU := flag.Bool("gpu-gelu", false, "build the vision GELUs from ops the TFLite GPU delegate accepts (lsms.Options.GPUGELU)")
	bench := flag.Int("bench", 0, "time this many invokes per model and thread count")
	threads := flag.String("threads", "1,2", "thread counts for -bench")
	profile := flag.Bool("profile", false, "with -bench: print the time per op type")
	flag.Parse()
	if *weights == "" || *size <= 0 || *T <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	w, err := safetensors.Open(*weights)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	var cfg lsms.Config
	if *config != "" {
		cfg, err = lsms.LoadConfig(*config)
	} else {
		cfg, err = lsms.ConfigFromWeights(w)
	}
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	opt := lsms.Options{GPUGELU: *gpuGELU}
	type job struct {
		file  string
		build func() (*tflite.Model, error)
	}
	jobs := []job{
		{*name + "_text.tflite", func() (*tflite.Model, error) { return lsms.BuildText(w, cfg, *T) }},
		{*name + "_vision.tflite", func() (*tflite.Model, error) { return lsms.BuildVision(w, cfg, *size, *T, opt) }},
	}
	if *bundle {
		jobs = append(jobs, job{*name + ".tflite", func() (*tflite.Model, error) { return lsms.BuildBundle(w, cfg, *size, *T, opt) }})
	}
	if *segment {
		jobs = append(jobs, job{*name + "_segment.tflite", func() (*tflite.Model, error) { return lsms.BuildSegment(w, cfg, *size, *T, opt) }})
	}
	var written []string
	for _, j := range jobs {
		m, err := j.build()
		if err != nil {
			log.Fatalf("%s: %v", j.file, err)
		}
		m.SetMinRuntimeVersion("2.13.0")
		p := filepath.Join(*out, j.file)
		if err := m.WriteFile(p); err != nil {
			log.Fatal(err)
		}
		st, _ := os.Stat(p)
		fmt.Printf("%s: %d bytes, %d ops, %s\n", p, st.Size(), countOps(m), opSummary(m))
		written = append(written, p)
	}
	if *bench > 0 {
		for _, ts := range strings.Split(*threads, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(ts))
			if err != nil || n < 1 {
				log.Fatalf("bad -threads %q", *threads)
			}
			for _, p := range written[:2] {
				if err := timeModel(p, n, *bench, *profile); err != nil {
					log.Fatal(err)
				}
			}
		}
	}
}

func countOps(m *tflite.Model) int {
	n := 0
	for _, sg := range m.Subgraphs {
		n += len(sg.Operators)
	}
	return n
}

func opSummary(m *tflite.Model) string {
	c := map[string]int{}
	for _, sg := range m.Subgraphs {
		for _, op := range sg.Operators {
			c[op.Code.Name()]++
		}
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c[keys[i]] > c[keys[j]] || c[keys[i]] == c[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// timeModel invokes a model with ids 2 / mask 1 / other inputs 0.5.
func timeModel(path string, threads, n int, profile bool) error {
	m, err := tflite.ReadFile(path)
	if err != nil {
		return err
	}
	it, err := interp.New(m, interp.Options{Threads: threads, Profile: profile})
	if err != nil {
		return err
	}
	for i, info := range it.Inputs() {
		k := 1
		for _, d := range info.Shape {
			k *= d
		}
		switch info.Type {
		case tflite.Int32:
			v := make([]int32, k)
			for j := range v {
				v[j] = 2
			}
			err = it.SetInput(i, v)
		default:
			v := make([]float32, k)
			for j := range v {
				v[j] = 0.5
				if info.Name == "mask" {
					v[j] = 1
				}
			}
			err = it.SetInput(i, v)
		}
		if err != nil {
			return err
		}
	}
	if err := it.Invoke(); err != nil { // warm-up
		return err
	}
	var ds []time.Duration
	for range n {
		t0 := time.Now()
		if err := it.Invoke(); err != nil {
			return err
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("%s threads %d: median %.2f ms, min %.2f ms over %d invokes\n", filepath.Base(path), threads,
		float64(ds[len(ds)/2].Microseconds())/1000, float64(ds[0].Microseconds())/1000, n)
	if profile {
		by := map[string]time.Duration{}
		var total time.Duration
		for _, p := range it.Profile() {
			by[p.Op] += p.Total
			total += p.Total
		}
		keys := make([]string, 0, len(by))
		for k := range by {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return by[keys[i]] > by[keys[j]] })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(by[k])/float64(max(total, 1))))
		}
		fmt.Printf("  by op: %s\n", strings.Join(parts, ", "))
	}
	return nil
}
