package tflitec

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"structs"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ErrConfig is wrapped by errors in a delegate's configuration.
var ErrConfig = errors.New("tflite: invalid delegate configuration")

// Delegate is a TFLite delegate to apply to the interpreter: *XNNPACK,
// *GPU, *NNAPI or *External.
type Delegate interface {
	// Kind is "xnnpack", "gpu", "nnapi" or "external".
	Kind() string
	// Validate checks the configuration without loading anything.
	Validate() error
	// create makes the C delegate; threads is the session's thread count.
	create(l *Library, threads int) (*liveDelegate, error)
	// ownThread: the delegate must live on one OS thread.
	ownThread() bool
}

// liveDelegate is a created C delegate and the memory it may point to.
type liveDelegate struct {
	kind string
	ptr  uintptr
	free func(uintptr)
	pin  runtime.Pinner
	keep [][]byte
}

// cstr returns a NUL-terminated copy of s, pinned until the delegate is
// deleted (delegates may keep the pointers they are given); 0 for "".
func (d *liveDelegate) cstr(s string) uintptr {
	if s == "" {
		return 0
	}
	b := append([]byte(s), 0)
	d.pin.Pin(&b[0])
	d.keep = append(d.keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

func (d *liveDelegate) delete() {
	if d.ptr != 0 && d.free != nil {
		d.free(d.ptr)
	}
	d.ptr = 0
	d.pin.Unpin()
	d.keep = nil
}

// structFunc binds a C function that returns T by value. purego returns
// structs on 64-bit targets; on 32-bit ARM (AAPCS) a struct of more than 4
// bytes comes back through a hidden pointer passed as the first argument,
// so that is how it is called there.
func structFunc[T any](p uintptr) func() T {
	if runtime.GOARCH == "arm" {
		var f func(*T)
		purego.RegisterFunc(&f, p)
		return func() T {
			var v T
			f(&v)
			return v
		}
	}
	var f func() T
	purego.RegisterFunc(&f, p)
	return f
}

// structFunc1 is structFunc for a function of one pointer-sized argument.
func structFunc1[T any](p uintptr) func(uintptr) T {
	if runtime.GOARCH == "arm" {
		var f func(*T, uintptr)
		purego.RegisterFunc(&f, p)
		return func(a uintptr) T {
			var v T
			f(&v, a)
			return v
		}
	}
	var f func(uintptr) T
	purego.RegisterFunc(&f, p)
	return f
}

// --- XNNPACK ----------------------------------------------------------------

// XNNPACK flags (delegates/xnnpack/xnnpack_delegate.h).
const (
	XNNPackFlagQS8       = 0x00000001
	XNNPackFlagQU8       = 0x00000002
	XNNPackFlagForceFP16 = 0x00000004
)

// xnnpackOptions is TfLiteXNNPackDelegateOptions.
type xnnpackOptions struct {
	_                   structs.HostLayout
	NumThreads          int32
	Flags               uint32
	WeightsCache        uintptr
	HandleVariableOps   bool
	WeightCacheFilePath uintptr
}

// XNNPACK is the XNNPACK CPU delegate (TfLiteXNNPackDelegateCreate).
type XNNPACK struct {
	// NumThreads for its thread pool; 0 uses the session's threads.
	NumThreads int
	// QS8 and QU8 turn signed and unsigned 8-bit quantized inference on or
	// off; nil keeps the library's default.
	QS8, QU8 *bool
	// WeightCacheFile is where XNNPACK keeps packed weights between runs;
	// empty: none.
	WeightCacheFile string
}

// Kind implements Delegate.
func (*XNNPACK) Kind() string    { return "xnnpack" }
func (*XNNPACK) ownThread() bool { return false }

// Validate implements Delegate.
func (x *XNNPACK) Validate() error {
	if x.NumThreads < 0 {
		return fmt.Errorf("%w: xnnpack num_threads %d: want 0 (the session's) or more", ErrConfig, x.NumThreads)
	}
	return nil
}

func (x *XNNPACK) create(l *Library, threads int) (*liveDelegate, error) {
	if err := x.Validate(); err != nil {
		return nil, err
	}
	create, err := l.lookup("TfLiteXNNPackDelegateCreate")
	if err != nil {
		return nil, err
	}
	del, err := l.lookup("TfLiteXNNPackDelegateDelete")
	if err != nil {
		return nil, err
	}
	var o xnnpackOptions
	if p, err := l.lookup("TfLiteXNNPackDelegateOptionsDefault"); err == nil {
		o = structFunc[xnnpackOptions](p)()
	}
	d := &liveDelegate{kind: x.Kind()}
	o.NumThreads = int32(max(threads, 1))
	if x.NumThreads > 0 {
		o.NumThreads = int32(x.NumThreads)
	}
	o.Flags = setFlag(o.Flags, XNNPackFlagQS8, x.QS8)
	o.Flags = setFlag(o.Flags, XNNPackFlagQU8, x.QU8)
	if x.WeightCacheFile != "" {
		o.WeightCacheFilePath = d.cstr(x.WeightCacheFile)
	}
	var createFn func(*xnnpackOptions) uintptr
	purego.RegisterFunc(&createFn, create)
	purego.RegisterFunc(&d.free, del)
	if d.ptr = createFn(&o); d.ptr == 0 {
		d.delete()
		return nil, fmt.Errorf("%w: TfLiteXNNPackDelegateCreate returned NULL", ErrDelegate)
	}
	return d, nil
}

func setFlag[T uint32 | int64](flags, bit T, on *bool) T {
	switch {
	case on == nil:
		return flags
	case *on:
		return flags | bit
	}
	return flags &^ bit
}

// --- GPU --------------------------------------------------------------------

// GPU delegate enums (delegates/gpu/delegate_options.h).
var (
	gpuPreferences = []string{"fast_single_answer", "sustained_speed", "balanced"}
	gpuPriorities  = []string{"auto", "max_precision", "min_latency", "min_memory_usage"}
)

// GPU experimental flags.
const (
	gpuFlagEnableQuant   = 1 << 0
	gpuFlagCLOnly        = 1 << 1
	gpuFlagGLOnly        = 1 << 2
	gpuFlagSerialization = 1 << 3
)

// GPULibraryName is the separate GPU delegate library of TFLite builds that
// do not link the GPU delegate into the C library.
const GPULibraryName = "libtensorflowlite_gpu_delegate.so"

// GPU is the GPU delegate V2 (OpenCL or OpenGL ES), created from
// TfLiteGpuDelegateOptionsV2Default() with the fields below applied. A
// session with it makes every C call on one goroutine locked to its OS
// thread, as the delegate requires.
type GPU struct {
	// PrecisionLossAllowed lets it compute in fp16.
	PrecisionLossAllowed bool
	// InferencePreference: "" (library default), "fast_single_answer",
	// "sustained_speed" or "balanced".
	InferencePreference string
	// Priorities 1 to 3: "" (library default), "auto", "max_precision",
	// "min_latency" or "min_memory_usage".
	Priorities [3]string
	// Quant runs quantized models (ENABLE_QUANT); nil keeps the default.
	Quant *bool
	// Backend: "" (either), "cl" (OpenCL only) or "gl" (OpenGL only).
	Backend string
	// SerializationDir and ModelToken, set together, cache the compiled
	// GPU programs in the directory under the token.
	SerializationDir, ModelToken string
	// MaxDelegatedPartitions; 0 keeps the default.
	MaxDelegatedPartitions int
	// Library that exports TfLiteGpuDelegateV2Create when it is not the
	// TFLite C library; empty: the TFLite C library, then GPULibraryName
	// beside it and on the loader's path.
	Library string
}

// Kind implements Delegate.
func (*GPU) Kind() string    { return "gpu" }
func (*GPU) ownThread() bool { return true }

// Validate implements Delegate.
func (g *GPU) Validate() error {
	var errs []error
	if g.InferencePreference != "" && !slices.Contains(gpuPreferences, g.InferencePreference) {
		errs = append(errs, fmt.Errorf("%w: gpu inference_preference %q: want one of %s", ErrConfig, g.InferencePreference, strings.Join(gpuPreferences, ", ")))
	}
	for i, p := range g.Priorities {
		if p != "" && !slices.Contains(gpuPriorities, p) {
			errs = append(errs, fmt.Errorf("%w: gpu priority%d %q: want one of %s", ErrConfig, i+1, p, strings.Join(gpuPriorities, ", ")))
		}
	}
	switch g.Backend {
	case "", "cl", "gl":
	default:
		errs = append(errs, fmt.Errorf("%w: gpu backend %q: want cl, gl or empty (either)", ErrConfig, g.Backend))
	}
	if (g.SerializationDir == "") != (g.ModelToken == "") {
		errs = append(errs, fmt.Errorf("%w: gpu serialization needs both serialization_dir and model_token (have %q, %q)", ErrConfig, g.SerializationDir, g.ModelToken))
	}
	if g.MaxDelegatedPartitions < 0 {
		errs = append(errs, fmt.Errorf("%w: gpu max_delegated_partitions %d: want 0 (default) or more", ErrConfig, g.MaxDelegatedPartitions))
	}
	return errors.Join(errs...)
}

func (g *GPU) libraries(l *Library) []string {
	if g.Library != "" {
		return []string{g.Library}
	}
	return []string{filepath.Join(filepath.Dir(l.Path), GPULibraryName), GPULibraryName}
}

func (g *GPU) create(l *Library, _ int) (*liveDelegate, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	lib := l
	if g.Library != "" {
		lib = nil // look only in the named library
	}
	extra := g.libraries(l)
	var ps [3]uintptr
	for i, name := range []string{"TfLiteGpuDelegateOptionsV2Default", "TfLiteGpuDelegateV2Create", "TfLiteGpuDelegateV2Delete"} {
		p, err := lib.lookup(name, extra...)
		if err != nil {
			return nil, fmt.Errorf("GPU delegate: %w", err)
		}
		ps[i] = p
	}
	o := structFunc[gpuOptions](ps[0])()
	d := &liveDelegate{kind: g.Kind()}
	if g.PrecisionLossAllowed {
		o.IsPrecisionLossAllowed = 1
	}
	if g.InferencePreference != "" {
		o.InferencePreference = int32(slices.Index(gpuPreferences, g.InferencePreference))
	}
	for i, dst := range []*int32{&o.InferencePriority1, &o.InferencePriority2, &o.InferencePriority3} {
		if p := g.Priorities[i]; p != "" {
			*dst = int32(slices.Index(gpuPriorities, p))
		}
	}
	o.ExperimentalFlags = setFlag(o.ExperimentalFlags, gpuFlagEnableQuant, g.Quant)
	switch g.Backend {
	case "cl":
		o.ExperimentalFlags = o.ExperimentalFlags&^gpuFlagGLOnly | gpuFlagCLOnly
	case "gl":
		o.ExperimentalFlags = o.ExperimentalFlags&^gpuFlagCLOnly | gpuFlagGLOnly
	}
	if g.SerializationDir != "" {
		o.ExperimentalFlags |= gpuFlagSerialization
		o.SerializationDir = d.cstr(g.SerializationDir)
		o.ModelToken = d.cstr(g.ModelToken)
	}
	if g.MaxDelegatedPartitions > 0 {
		o.MaxDelegatedPartitions = int32(g.MaxDelegatedPartitions)
	}
	var createFn func(*gpuOptions) uintptr
	purego.RegisterFunc(&createFn, ps[1])
	purego.RegisterFunc(&d.free, ps[2])
	if d.ptr = createFn(&o); d.ptr == 0 {
		d.delete()
		return nil, fmt.Errorf("%w: TfLiteGpuDelegateV2Create returned NULL (no usable GPU driver?)", ErrDelegate)
	}
	return d, nil
}

// --- NNAPI ------------------------------------------------------------------

var nnapiPreferences = []string{"low_power", "fast_single_answer", "sustained_speed"}

// nnapiOptions is TfLiteNnapiDelegateOptions
// (delegates/nnapi/nnapi_delegate_c_api.h).
type nnapiOptions struct {
	_                            structs.HostLayout
	ExecutionPreference          int32
	AcceleratorName              uintptr
	CacheDir                     uintptr
	ModelToken                   uintptr
	DisallowNNAPICPU             int32
	AllowFP16                    int32
	MaxNumberDelegatedPartitions int32
	NNAPISupportLibraryHandle    uintptr
}

// NNAPI is Android's Neural Networks API delegate
// (TfLiteNnapiDelegateCreate). It exists only in Android builds of TFLite,
// and NNAPI is deprecated upstream since Android 15: prefer the GPU delegate
// or a vendor's external delegate.
type NNAPI struct {
	// AcceleratorName picks one NNAPI device ("" lets NNAPI choose).
	AcceleratorName string
	// DisallowCPU forbids NNAPI's own CPU implementation.
	DisallowCPU bool
	// AllowFP16 lets float32 run in fp16.
	AllowFP16 bool
	// CacheDir and ModelToken, set together, cache compilations.
	CacheDir, ModelToken string
	// ExecutionPreference: "" (undefined), "low_power",
	// "fast_single_answer" or "sustained_speed".
	ExecutionPreference string
	// MaxDelegatedPartitions; 0 keeps the default.
	MaxDelegatedPartitions int
}

// Kind implements Delegate.
func (*NNAPI) Kind() string    { return "nnapi" }
func (*NNAPI) ownThread() bool { return false }

// Validate implements Delegate.
func (n *NNAPI) Validate() error {
	var errs []error
	if n.ExecutionPreference != "" && !slices.Contains(nnapiPreferences, n.ExecutionPreference) {
		errs = append(errs, fmt.Errorf("%w: nnapi execution_preference %q: want one of %s", ErrConfig, n.ExecutionPreference, strings.Join(nnapiPreferences, ", ")))
	}
	if (n.CacheDir == "") != (n.ModelToken == "") {
		errs = append(errs, fmt.Errorf("%w: nnapi caching needs both cache_dir and model_token (have %q, %q)", ErrConfig, n.CacheDir, n.ModelToken))
	}
	if n.MaxDelegatedPartitions < 0 {
		errs = append(errs, fmt.Errorf("%w: nnapi max_delegated_partitions %d: want 0 (default) or more", ErrConfig, n.MaxDelegatedPartitions))
	}
	return errors.Join(errs...)
}

func (n *NNAPI) create(l *Library, _ int) (*liveDelegate, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	create, err := l.lookup("TfLiteNnapiDelegateCreate")
	if err != nil {
		return nil, fmt.Errorf("NNAPI delegate (only in Android builds of TFLite; deprecated upstream): %w", err)
	}
	del, err := l.lookup("TfLiteNnapiDelegateDelete")
	if err != nil {
		return nil, fmt.Errorf("NNAPI delegate: %w", err)
	}
	o := nnapiOptions{ExecutionPreference: -1, MaxNumberDelegatedPartitions: 3}
	if p, err := l.lookup("TfLiteNnapiDelegateOptionsDefault"); err == nil {
		o = structFunc[nnapiOptions](p)()
	}
	d := &liveDelegate{kind: n.Kind()}
	if n.ExecutionPreference != "" {
		o.ExecutionPreference = int32(slices.Index(nnapiPreferences, n.ExecutionPreference))
	}
	o.AcceleratorName = d.cstr(n.AcceleratorName)
	o.CacheDir = d.cstr(n.CacheDir)
	o.ModelToken = d.cstr(n.ModelToken)
	if n.DisallowCPU {
		o.DisallowNNAPICPU = 1
	}
	if n.AllowFP16 {
		o.AllowFP16 = 1
	}
	if n.MaxDelegatedPartitions > 0 {
		o.MaxNumberDelegatedPartitions = int32(n.MaxDelegatedPartitions)
	}
	var createFn func(*nnapiOptions) uintptr
	purego.RegisterFunc(&createFn, create)
	purego.RegisterFunc(&d.free, del)
	if d.ptr = createFn(&o); d.ptr == 0 {
		d.delete()
		return nil, fmt.Errorf("%w: TfLiteNnapiDelegateCreate returned NULL", ErrDelegate)
	}
	return d, nil
}

// --- external ---------------------------------------------------------------

// External is a delegate in a plugin library, such as a vendor's NPU
// delegate, created through the plugin interface of TFLite's external
// delegate (delegates/external/external_delegate_interface.h):
// tflite_plugin_create_delegate(keys, values, n, report_error) and
// tflite_plugin_destroy_delegate. The binding loads the plugin itself
// rather than through TfLiteExternalDelegateCreate, which in v2.18 hands back
// an uninitialised delegate when the plugin fails and passes the plugin no
// error callback; here a failure is an error with the plugin's messages.
type External struct {
	// Path of the plugin library.
	Path string
	// Options are passed as key/value strings, in key order.
	Options map[string]string
}

// Kind implements Delegate.
func (*External) Kind() string    { return "external" }
func (*External) ownThread() bool { return false }

// Validate implements Delegate.
func (e *External) Validate() error {
	if e.Path == "" {
		return fmt.Errorf("%w: external delegate needs the path of its library", ErrConfig)
	}
	for k, v := range e.Options {
		if k == "" || strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			return fmt.Errorf("%w: external delegate option %q=%q: keys must be non-empty, and neither may contain NUL", ErrConfig, k, v)
		}
	}
	return nil
}

func (e *External) create(*Library, int) (*liveDelegate, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	create, err := (*Library)(nil).lookup("tflite_plugin_create_delegate", e.Path)
	if err != nil {
		return nil, fmt.Errorf("external delegate: %w", err)
	}
	destroy, err := (*Library)(nil).lookup("tflite_plugin_destroy_delegate", e.Path)
	if err != nil {
		return nil, fmt.Errorf("external delegate: %w", err)
	}
	d := &liveDelegate{kind: e.Kind()}
	keys := slices.Sorted(maps.Keys(e.Options))
	ks := make([]uintptr, len(keys)+1)
	vs := make([]uintptr, len(keys)+1)
	for i, k := range keys {
		ks[i], vs[i] = d.cstr(k), d.cstr(e.Options[k])
	}
	d.pin.Pin(&ks[0])
	d.pin.Pin(&vs[0])
	var createFn func(keys, values *uintptr, n uintptr, reportError uintptr) uintptr
	purego.RegisterFunc(&createFn, create)
	purego.RegisterFunc(&d.free, destroy)
	setupCallbacks()
	pluginMu.Lock()
	pluginMsgs = nil
	d.ptr = createFn(&ks[0], &vs[0], uintptr(len(keys)), pluginFn)
	msgs := pluginMsgs
	pluginMsgs = nil
	pluginMu.Unlock()
	if d.ptr == 0 {
		d.delete()
		if len(msgs) == 0 {
			msgs = []string{"it reported nothing"}
		}
		return nil, fmt.Errorf("%w: %s: tflite_plugin_create_delegate returned NULL: %s", ErrDelegate, e.Path, strings.Join(msgs, "; "))
	}
	return d, nil
}

// --- from profiles ------------------------------------------------------------

// delegateKeys lists the string options ParseDelegate accepts per kind.
var delegateKeys = map[string][]string{
	"xnnpack": {"num_threads", "qs8", "qu8", "weight_cache_file"},
	"gpu": {"precision_loss_allowed", "inference_preference", "priority1", "priority2", "priority3",
		"enable_quant", "backend", "serialization_dir", "model_token", "max_delegated_partitions", "library"},
	"nnapi": {"accelerator_name", "disallow_cpu", "allow_fp16", "cache_dir", "model_token",
		"execution_preference", "max_delegated_partitions"},
}

// ParseDelegate builds a delegate from a board profile's delegate section:
// kind "none" (or empty: no delegate, nil), "xnnpack", "gpu", "nnapi" or
// "external" (path is its library; options go to the plugin unchanged). For
// the others the options are strings by these keys:
//
//	xnnpack: num_threads, qs8, qu8 (true/false), weight_cache_file
//	gpu:     precision_loss_allowed, enable_quant (true/false),
//	         inference_preference (fast_single_answer, sustained_speed,
//	         balanced), priority1..3 (auto, max_precision, min_latency,
//	         min_memory_usage), backend (cl, gl), serialization_dir,
//	         model_token, max_delegated_partitions, library
//	nnapi:   accelerator_name, disallow_cpu, allow_fp16 (true/false),
//	         cache_dir, model_token, execution_preference (low_power,
//	         fast_single_answer, sustained_speed), max_delegated_partitions
//
// Every unknown key and bad value is reported, wrapping ErrConfig.
func ParseDelegate(kind, path string, options map[string]string) (Delegate, error) {
	if kind != "external" && path != "" {
		return nil, fmt.Errorf("%w: a library path is only for external delegates (kind %q)", ErrConfig, kind)
	}
	var errs []error
	str := func(k string) string { return options[k] }
	boolean := func(k string) *bool {
		v, ok := options[k]
		if !ok {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s option %s=%q: want true or false", ErrConfig, kind, k, v))
			return nil
		}
		return &b
	}
	integer := func(k string) int {
		v, ok := options[k]
		if !ok {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%w: %s option %s=%q: want a whole number, 0 or more", ErrConfig, kind, k, v))
			return 0
		}
		return n
	}
	if keys, ok := delegateKeys[kind]; ok {
		for _, k := range slices.Sorted(maps.Keys(options)) {
			if !slices.Contains(keys, k) {
				errs = append(errs, fmt.Errorf("%w: %s option %q unknown (have %s)", ErrConfig, kind, k, strings.Join(keys, ", ")))
			}
		}
	}
	var d Delegate
	switch kind {
	case "", "none":
		if len(options) > 0 {
			return nil, fmt.Errorf("%w: delegate kind none takes no options", ErrConfig)
		}
		return nil, nil
	case "xnnpack":
		d = &XNNPACK{NumThreads: integer("num_threads"), QS8: boolean("qs8"), QU8: boolean("qu8"), WeightCacheFile: str("weight_cache_file")}
	case "gpu":
		g := &GPU{InferencePreference: str("inference_preference"), Quant: boolean("enable_quant"),
			Priorities: [3]string{str("priority1"), str("priority2"), str("priority3")},
			Backend:    str("backend"), SerializationDir: str("serialization_dir"), ModelToken: str("model_token"),
			MaxDelegatedPartitions: integer("max_delegated_partitions"), Library: str("library")}
		if p := boolean("precision_loss_allowed"); p != nil {
			g.PrecisionLossAllowed = *p
		}
		d = g
	case "nnapi":
		n := &NNAPI{AcceleratorName: str("accelerator_name"), CacheDir: str("cache_dir"), ModelToken: str("model_token"),
			ExecutionPreference: str("execution_preference"), MaxDelegatedPartitions: integer("max_delegated_partitions")}
		if b := boolean("disallow_cpu"); b != nil {
			n.DisallowCPU = *b
		}
		if b := boolean("allow_fp16"); b != nil {
			n.AllowFP16 = *b
		}
		d = n
	case "external":
		d = &External{Path: path, Options: options}
	default:
		return nil, fmt.Errorf("%w: delegate kind %q: want none, xnnpack, gpu, nnapi or external", ErrConfig, kind)
	}
	if err := d.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}
