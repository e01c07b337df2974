package tflitec

import (
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/lsms-edge/lsms/runtime/backend"
)

// TestStructLayouts pins the Go mirrors of the C option structs to the
// offsets of the v2.18 headers under the C ABI of 64-bit targets and of
// 32-bit ARM (AAPCS: int64 aligned to 8). The c-shared library, compiled
// from C declarations, checks them again in the delegate tests.
func TestStructLayouts(t *testing.T) {
	var x xnnpackOptions
	var g gpuOptions
	var n nnapiOptions
	var q quantParams
	p := unsafe.Sizeof(uintptr(0))
	for _, c := range []struct {
		name           string
		got            uintptr
		want64, want32 uintptr
	}{
		{"sizeof(TfLiteXNNPackDelegateOptions)", unsafe.Sizeof(x), 32, 20},
		{"TfLiteXNNPackDelegateOptions.flags", unsafe.Offsetof(x.Flags), 4, 4},
		{"TfLiteXNNPackDelegateOptions.weights_cache", unsafe.Offsetof(x.WeightsCache), 8, 8},
		{"TfLiteXNNPackDelegateOptions.handle_variable_ops", unsafe.Offsetof(x.HandleVariableOps), 16, 12},
		{"TfLiteXNNPackDelegateOptions.weight_cache_file_path", unsafe.Offsetof(x.WeightCacheFilePath), 24, 16},
		{"sizeof(TfLiteGpuDelegateOptionsV2)", unsafe.Sizeof(g), 56, 48},
		{"TfLiteGpuDelegateOptionsV2.inference_priority3", unsafe.Offsetof(g.InferencePriority3), 16, 16},
		{"TfLiteGpuDelegateOptionsV2.experimental_flags", unsafe.Offsetof(g.ExperimentalFlags), 24, 24},
		{"TfLiteGpuDelegateOptionsV2.max_delegated_partitions", unsafe.Offsetof(g.MaxDelegatedPartitions), 32, 32},
		{"TfLiteGpuDelegateOptionsV2.serialization_dir", unsafe.Offsetof(g.SerializationDir), 40, 36},
		{"TfLiteGpuDelegateOptionsV2.model_token", unsafe.Offsetof(g.ModelToken), 48, 40},
		{"sizeof(TfLiteNnapiDelegateOptions)", unsafe.Sizeof(n), 56, 32},
		{"TfLiteNnapiDelegateOptions.accelerator_name", unsafe.Offsetof(n.AcceleratorName), 8, 4},
		{"TfLiteNnapiDelegateOptions.disallow_nnapi_cpu", unsafe.Offsetof(n.DisallowNNAPICPU), 32, 16},
		{"TfLiteNnapiDelegateOptions.max_number_delegated_partitions", unsafe.Offsetof(n.MaxNumberDelegatedPartitions), 40, 24},
		{"TfLiteNnapiDelegateOptions.nnapi_support_library_handle", unsafe.Offsetof(n.NNAPISupportLibraryHandle), 48, 28},
		{"sizeof(TfLiteQuantizationParams)", unsafe.Sizeof(q), 8, 8},
	} {
		want := c.want64
		if p == 4 {
			want = c.want32
		}
		if c.got != want {
			t.Errorf("%s = %d, want %d (%d-bit)", c.name, c.got, want, 8*p)
		}
	}
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestXNNPACK(t *testing.T) {
	cfg := config(t)
	cache := filepath.Join(t.TempDir(), "xnnpack.cache")
	cfg.Delegate = &XNNPACK{NumThreads: 3, QS8: yes(), QU8: no(), WeightCacheFile: cache}
	parity(t, "conv+xnnpack", convModel(8, 8, 2), backend.Options{Threads: 2}, cfg)
	if !ours(t) {
		return
	}
	s, err := Open(convModel(8, 8, 2), backend.Options{Threads: 2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info := interpreterInfo(t, s)
	want := capiDelegate{Kind: "xnnpack", NumThreads: 3, Flags: XNNPackFlagQS8, WeightCacheFile: cache}
	if info.Threads != 2 || len(info.Delegates) != 1 || !reflect.DeepEqual(info.Delegates[0], want) {
		t.Errorf("interpreter %+v, want threads 2 and delegate %+v", info, want)
	}
	// NumThreads 0 takes the session's; nil flags keep the defaults.
	cfg.Delegate = &XNNPACK{}
	s2, err := Open(convModel(8, 8, 2), backend.Options{Threads: 4}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d := interpreterInfo(t, s2).Delegates[0]; d.NumThreads != 4 || d.Flags != XNNPackFlagQS8|XNNPackFlagQU8 || d.WeightCacheFile != "" {
		t.Errorf("default XNNPACK delegate %+v", d)
	}
}

func TestGPU(t *testing.T) {
	cfg := config(t)
	dir := t.TempDir()
	cfg.Delegate = &GPU{PrecisionLossAllowed: true, InferencePreference: "sustained_speed",
		Priorities: [3]string{"min_latency", "auto", "max_precision"}, Quant: no(), Backend: "cl",
		SerializationDir: dir, ModelToken: "lsms-vision-v1", MaxDelegatedPartitions: 2}
	l, _ := Load(testLib(t))
	if _, err := l.lookup("TfLiteGpuDelegateV2Create", (&GPU{}).libraries(l)...); err != nil {
		t.Skipf("no GPU delegate: %v", err)
	}
	parity(t, "conv+gpu", convModel(8, 8, 2), backend.Options{}, cfg)
	if !ours(t) {
		return
	}
	s, err := Open(convModel(8, 8, 2), backend.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.exec.(*lockedThread); !ok {
		t.Errorf("GPU session runs on %T, want a locked thread", s.exec)
	}
	info := interpreterInfo(t, s)
	want := capiDelegate{Kind: "gpu", PrecisionLossAllowed: 1, InferencePreference: 1, Priorities: []int{2, 0, 1},
		ExperimentalFlags: gpuFlagCLOnly | gpuFlagSerialization, MaxPartitions: 2, SerializationDir: dir, ModelToken: "lsms-vision-v1"}
	if len(info.Delegates) != 1 || !reflect.DeepEqual(info.Delegates[0], want) {
		t.Errorf("delegates %+v, want %+v", info.Delegates, want)
	}
	for range 3 {
		if err := s.Invoke(); err != nil {
			t.Fatal(err)
		}
	}
	if n := interpreterInfo(t, s).Invokes; n != 3 {
		t.Errorf("%d invokes recorded, want 3", n)
	}

	// Off its thread, our library refuses the GPU delegate: invoke from
	// this goroutine, locked to another thread.
	runtime.LockOSThread()
	st := s.lib.c.invoke(s.ip)
	runtime.UnlockOSThread()
	msgs := s.sink.take()
	if Status(st) != StatusDelegateError || len(msgs) != 1 || !strings.Contains(msgs[0], "GPU delegate created on thread") {
		t.Errorf("invoke off the delegate's thread: %v %q", Status(st), msgs)
	}
	before := threadViolations(t)
	s.Close()
	if n := threadViolations(t); n != before {
		t.Errorf("Close deleted the GPU delegate off its thread (%d violations)", n-before)
	}

	// Defaults: TfLiteGpuDelegateOptionsV2Default() as it is.
	cfg.Delegate = &GPU{}
	s2, err := Open(convModel(8, 8, 2), backend.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d := interpreterInfo(t, s2).Delegates[0]
	if d.ExperimentalFlags != gpuFlagEnableQuant || d.MaxPartitions != 1 || !reflect.DeepEqual(d.Priorities, []int{1, 0, 0}) {
		t.Errorf("default GPU delegate %+v", d)
	}
}

func threadViolations(t *testing.T) int64 {
	l, _ := Load(testLib(t))
	p, err := purego.Dlsym(l.handle, "LsmsCapiThreadViolations")
	if err != nil {
		t.Fatal(err)
	}
	var f func() int64
	purego.RegisterFunc(&f, p)
	return f()
}

func TestMissingDelegate(t *testing.T) {
	m := convModel(4, 4, 1)
	cfg := config(t)
	l, _ := Load(testLib(t))
	if !l.Has("TfLiteNnapiDelegateCreate") {
		cfg.Delegate = &NNAPI{AcceleratorName: "npu"}
		_, err := Open(m, backend.Options{}, cfg)
		if !errors.Is(err, ErrSymbol) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "TfLiteNnapiDelegateCreate not found in "+l.Path) || !strings.Contains(err.Error(), "Android") {
			t.Errorf("NNAPI on a library without it: %v", err)
		}
		t.Log(err)
	}
	// A GPU delegate library that lacks the functions.
	cfg.Delegate = &GPU{Library: libcNames()[0]}
	_, err := Open(m, backend.Options{}, cfg)
	if !errors.Is(err, ErrSymbol) || !strings.Contains(err.Error(), "TfLiteGpuDelegateOptionsV2Default not found in "+libcNames()[0]) {
		t.Errorf("GPU from the C library: %v", err)
	}
	// A GPU delegate library that is not there.
	cfg.Delegate = &GPU{Library: "/nonexistent/libtensorflowlite_gpu_delegate.so"}
	_, err = Open(m, backend.Options{}, cfg)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "/nonexistent/libtensorflowlite_gpu_delegate.so") {
		t.Errorf("GPU from a missing library: %v", err)
	}
	// An external delegate that is not there.
	cfg.Delegate = &External{Path: "/nonexistent/libvx_delegate.so"}
	_, err = Open(m, backend.Options{}, cfg)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "/nonexistent/libvx_delegate.so") {
		t.Errorf("missing external delegate: %v", err)
	}
	t.Log(err)
	// A bad configuration is not "unavailable".
	cfg.Delegate = &GPU{Backend: "vulkan"}
	_, err = Open(m, backend.Options{}, cfg)
	if !errors.Is(err, ErrConfig) || errors.Is(err, ErrUnavailable) {
		t.Errorf("bad GPU backend: %v", err)
	}
}

// TestExternal loads our library as a delegate plugin.
func TestExternal(t *testing.T) {
	needOurs(t)
	cfg := config(t)
	opts := map[string]string{"cache_file_path": "/var/lib/lsms/vx.cache", "allowed_cache_mode": "true", "empty": ""}
	cfg.Delegate = &External{Path: testLib(t), Options: opts}
	parity(t, "conv+external", convModel(8, 8, 2), backend.Options{}, cfg)
	s, err := Open(convModel(8, 8, 2), backend.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info := interpreterInfo(t, s)
	if len(info.Delegates) != 1 || info.Delegates[0].Kind != "external" || !maps.Equal(info.Delegates[0].Options, opts) {
		t.Errorf("delegates %+v, want the plugin with options %v", info.Delegates, opts)
	}
	s.Close()

	// The plugin fails and says why through report_error.
	cfg.Delegate = &External{Path: testLib(t), Options: map[string]string{"lsms_fail": "no NPU found"}}
	_, err = Open(convModel(8, 8, 2), backend.Options{}, cfg)
	if !errors.Is(err, ErrDelegate) || !strings.Contains(err.Error(), "lsms capi plugin: no NPU found") {
		t.Errorf("failing plugin: %v", err)
	}
	t.Log(err)
}

func TestParseDelegate(t *testing.T) {
	for _, c := range []struct {
		kind, path string
		opts       map[string]string
		want       Delegate
	}{
		{"none", "", nil, nil},
		{"", "", nil, nil},
		{"xnnpack", "", map[string]string{"num_threads": "2", "qs8": "true", "qu8": "false", "weight_cache_file": "/var/cache/x"},
			&XNNPACK{NumThreads: 2, QS8: yes(), QU8: no(), WeightCacheFile: "/var/cache/x"}},
		{"gpu", "", map[string]string{"backend": "cl", "inference_preference": "sustained_speed", "precision_loss_allowed": "false", "enable_quant": "true"},
			&GPU{Backend: "cl", InferencePreference: "sustained_speed", Quant: yes()}},
		{"gpu", "", map[string]string{"priority1": "min_latency", "serialization_dir": "/var/lib/lsms", "model_token": "t", "max_delegated_partitions": "4", "library": "/usr/lib/libtensorflowlite_gpu_delegate.so"},
			&GPU{Priorities: [3]string{"min_latency"}, SerializationDir: "/var/lib/lsms", ModelToken: "t", MaxDelegatedPartitions: 4, Library: "/usr/lib/libtensorflowlite_gpu_delegate.so"}},
		{"nnapi", "", map[string]string{"accelerator_name": "qti-dsp", "disallow_cpu": "true", "allow_fp16": "1", "cache_dir": "/data/c", "model_token": "m", "execution_preference": "sustained_speed"},
			&NNAPI{AcceleratorName: "qti-dsp", DisallowCPU: true, AllowFP16: true, CacheDir: "/data/c", ModelToken: "m", ExecutionPreference: "sustained_speed"}},
		{"external", "/usr/lib/libvx_delegate.so", map[string]string{"any.key": "v"},
			&External{Path: "/usr/lib/libvx_delegate.so", Options: map[string]string{"any.key": "v"}}},
	} {
		got, err := ParseDelegate(c.kind, c.path, c.opts)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseDelegate(%q, %q, %v) = %#v, %v; want %#v", c.kind, c.path, c.opts, got, err, c.want)
		}
	}
	for _, c := range []struct {
		kind, path string
		opts       map[string]string
		want       []string
	}{
		{"tpu", "", nil, []string{`kind "tpu"`}},
		{"none", "", map[string]string{"a": "b"}, []string{"takes no options"}},
		{"xnnpack", "/x.so", nil, []string{"only for external"}},
		{"xnnpack", "", map[string]string{"threads": "2", "qs8": "maybe", "num_threads": "-1"},
			[]string{`"threads" unknown`, `qs8="maybe": want true or false`, `num_threads="-1"`}},
		{"gpu", "", map[string]string{"backend": "vulkan", "priority2": "fast", "inference_preference": "x", "model_token": "t"},
			[]string{`backend "vulkan"`, `priority2 "fast"`, `inference_preference "x"`, "needs both serialization_dir and model_token"}},
		{"nnapi", "", map[string]string{"execution_preference": "turbo", "cache_dir": "/c"}, []string{`execution_preference "turbo"`, "needs both cache_dir"}},
		{"external", "", nil, []string{"needs the path"}},
	} {
		_, err := ParseDelegate(c.kind, c.path, c.opts)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("ParseDelegate(%q, %q, %v) = %v, want ErrConfig", c.kind, c.path, c.opts, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseDelegate(%q, %v): %q lacks %q", c.kind, c.opts, err, w)
			}
		}
	}
}

// TestProfiles parses the delegate sections of the shipped board profiles.
func TestProfiles(t *testing.T) {
	files, _ := filepath.Glob("../../firmware/profiles/*.json")
	if len(files) == 0 {
		t.Skip("no board profiles")
	}
	for _, f := range files {
		var p struct {
			Delegate struct {
				Kind    string            `json:"kind"`
				Path    string            `json:"path"`
				Options map[string]string `json:"options"`
			} `json:"delegate"`
		}
		if err := readJSON(f, &p); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseDelegate(p.Delegate.Kind, p.Delegate.Path, p.Delegate.Options); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

func FuzzParseDelegate(f *testing.F) {
	f.Add("gpu", "", "backend", "cl", "priority1", "auto")
	f.Add("xnnpack", "", "num_threads", "4", "qs8", "true")
	f.Add("external", "/a.so", "k", "v", "", "")
	f.Add("nnapi", "", "cache_dir", "/c", "model_token", "")
	f.Fuzz(func(t *testing.T, kind, path, k1, v1, k2, v2 string) {
		d, err := ParseDelegate(kind, path, map[string]string{k1: v1, k2: v2})
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error without ErrConfig: %v", err)
			}
			return
		}
		if d != nil {
			if err := d.Validate(); err != nil {
				t.Fatalf("parsed delegate fails Validate: %v", err)
			}
		}
	})
}

func readJSON(path string, v any) error {
	b, err := readFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// TestReporterFromCThread: the error reporter may be called on a thread
// that no Go runtime created (TFLite's worker threads).
func TestReporterFromCThread(t *testing.T) {
	needOurs(t)
	l, _ := Load(testLib(t))
	p, err := purego.Dlsym(l.handle, "LsmsCapiReportFromThread")
	if err != nil {
		t.Fatal(err)
	}
	var f func(fn, ud uintptr, msg string) int32
	purego.RegisterFunc(&f, p)
	setupCallbacks()
	sk := newSink()
	defer sk.close()
	if rc := f(reporterFn, sk.id, "hello"); rc != 0 {
		t.Fatalf("pthread_create/join: %d", rc)
	}
	if msgs := sk.take(); !reflect.DeepEqual(msgs, []string{"from a C thread: hello"}) {
		t.Errorf("messages %q", msgs)
	}
}
