package tflitec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// EnvLibrary names the environment variable with the path of
// libtensorflowlite_c; when set, Load("") looks nowhere else.
const EnvLibrary = "LSMS_TFLITE_LIB"

// LibraryName is the file name of the TFLite C library on this OS.
func LibraryName() string {
	switch runtime.GOOS {
	case "darwin", "ios":
		return "libtensorflowlite_c.dylib"
	case "windows":
		return "tensorflowlite_c.dll"
	}
	return "libtensorflowlite_c.so"
}

// Candidates lists, in order, where Load("") looks for the library: only
// $LSMS_TFLITE_LIB when it is set; otherwise the bare name (the dynamic
// loader's own search: LD_LIBRARY_PATH, the ld.so cache, the system
// directories), beside the executable, in ../lib from the executable,
// /usr/local/lib and /usr/lib.
func Candidates() []string {
	if p := os.Getenv(EnvLibrary); p != "" {
		return []string{p}
	}
	name := LibraryName()
	c := []string{name}
	if exe, err := os.Executable(); err == nil {
		d := filepath.Dir(exe)
		c = append(c, filepath.Join(d, name), filepath.Join(d, "..", "lib", name))
	}
	return append(c, filepath.Join("/usr/local/lib", name), filepath.Join("/usr/lib", name))
}

// Library is a loaded libtensorflowlite_c (or a library with its API).
// Libraries are never unloaded.
type Library struct {
	// Path is what was passed to dlopen.
	Path   string
	handle uintptr
	c      api
	// test hooks of the c-shared test library (nil elsewhere)
	delegateInfo    func(d uintptr) string
	interpreterInfo func(ip uintptr) string
}

// Version is TfLiteVersion(): the runtime's semantic version.
func (l *Library) Version() string { return l.c.version() }

// Has reports whether the library exports a symbol.
func (l *Library) Has(symbol string) bool {
	_, err := purego.Dlsym(l.handle, symbol)
	return err == nil
}

// quantParams is TfLiteQuantizationParams (c_api_types.h).
type quantParams struct {
	Scale     float32
	ZeroPoint int32
}

// api holds the bound C functions. Opaque C pointers are uintptr (they
// point to C memory and are never dereferenced in Go); TfLiteStatus is
// int32. Functions marked optional may be nil.
type api struct {
	version func() string

	modelCreate             func(data unsafe.Pointer, size uintptr) uintptr
	modelCreateWithReporter func(data unsafe.Pointer, size uintptr, reporter, userData uintptr) uintptr // optional
	modelDelete             func(m uintptr)

	optionsCreate             func() uintptr
	optionsDelete             func(o uintptr)
	optionsSetNumThreads      func(o uintptr, n int32)
	optionsSetErrorReporter   func(o uintptr, reporter, userData uintptr)
	optionsAddDelegate        func(o uintptr, d uintptr)
	optionsEnableCancellation func(o uintptr, enable bool) int32 // optional
	optionsSetDelegateFallbk  func(o uintptr, enable bool)       // optional (c_api_experimental.h)

	interpreterCreate    func(m, o uintptr) uintptr
	interpreterDelete    func(ip uintptr)
	inputCount           func(ip uintptr) int32
	outputCount          func(ip uintptr) int32
	inputTensor          func(ip uintptr, i int32) uintptr
	outputTensor         func(ip uintptr, i int32) uintptr
	allocateTensors      func(ip uintptr) int32
	invoke               func(ip uintptr) int32
	cancel               func(ip uintptr) int32               // optional
	signatureRunner      func(ip uintptr, key string) uintptr // optional, with the runner functions
	runnerInputCount     func(r uintptr) uintptr
	runnerOutputCount    func(r uintptr) uintptr
	runnerInputName      func(r uintptr, i int32) string
	runnerOutputName     func(r uintptr, i int32) string
	runnerInputTensor    func(r uintptr, name string) uintptr
	runnerOutputTensor   func(r uintptr, name string) uintptr
	runnerAllocate       func(r uintptr) int32
	runnerInvoke         func(r uintptr) int32
	runnerDelete         func(r uintptr)
	tensorType           func(t uintptr) int32
	tensorNumDims        func(t uintptr) int32
	tensorDim            func(t uintptr, i int32) int32
	tensorByteSize       func(t uintptr) uintptr
	tensorData           func(t uintptr) unsafe.Pointer
	tensorName           func(t uintptr) string
	tensorQuantization   func(t uintptr) quantParams // bound by structFunc1
	tensorCopyFromBuffer func(t uintptr, data unsafe.Pointer, size uintptr) int32
	tensorCopyToBuffer   func(t uintptr, data unsafe.Pointer, size uintptr) int32
}

type symbol struct {
	fn       any
	name     string
	optional bool
}

func (a *api) symbols() []symbol {
	return []symbol{
		{&a.version, "TfLiteVersion", false},
		{&a.modelCreate, "TfLiteModelCreate", false},
		{&a.modelCreateWithReporter, "TfLiteModelCreateWithErrorReporter", true},
		{&a.modelDelete, "TfLiteModelDelete", false},
		{&a.optionsCreate, "TfLiteInterpreterOptionsCreate", false},
		{&a.optionsDelete, "TfLiteInterpreterOptionsDelete", false},
		{&a.optionsSetNumThreads, "TfLiteInterpreterOptionsSetNumThreads", false},
		{&a.optionsSetErrorReporter, "TfLiteInterpreterOptionsSetErrorReporter", false},
		{&a.optionsAddDelegate, "TfLiteInterpreterOptionsAddDelegate", false},
		{&a.optionsEnableCancellation, "TfLiteInterpreterOptionsEnableCancellation", true},
		{&a.optionsSetDelegateFallbk, "TfLiteInterpreterOptionsSetEnableDelegateFallback", true},
		{&a.interpreterCreate, "TfLiteInterpreterCreate", false},
		{&a.interpreterDelete, "TfLiteInterpreterDelete", false},
		{&a.inputCount, "TfLiteInterpreterGetInputTensorCount", false},
		{&a.outputCount, "TfLiteInterpreterGetOutputTensorCount", false},
		{&a.inputTensor, "TfLiteInterpreterGetInputTensor", false},
		{&a.outputTensor, "TfLiteInterpreterGetOutputTensor", false},
		{&a.allocateTensors, "TfLiteInterpreterAllocateTensors", false},
		{&a.invoke, "TfLiteInterpreterInvoke", false},
		{&a.cancel, "TfLiteInterpreterCancel", true},
		{&a.signatureRunner, "TfLiteInterpreterGetSignatureRunner", true},
		{&a.runnerInputCount, "TfLiteSignatureRunnerGetInputCount", true},
		{&a.runnerOutputCount, "TfLiteSignatureRunnerGetOutputCount", true},
		{&a.runnerInputName, "TfLiteSignatureRunnerGetInputName", true},
		{&a.runnerOutputName, "TfLiteSignatureRunnerGetOutputName", true},
		{&a.runnerInputTensor, "TfLiteSignatureRunnerGetInputTensor", true},
		{&a.runnerOutputTensor, "TfLiteSignatureRunnerGetOutputTensor", true},
		{&a.runnerAllocate, "TfLiteSignatureRunnerAllocateTensors", true},
		{&a.runnerInvoke, "TfLiteSignatureRunnerInvoke", true},
		{&a.runnerDelete, "TfLiteSignatureRunnerDelete", true},
		{&a.tensorType, "TfLiteTensorType", false},
		{&a.tensorNumDims, "TfLiteTensorNumDims", false},
		{&a.tensorDim, "TfLiteTensorDim", false},
		{&a.tensorByteSize, "TfLiteTensorByteSize", false},
		{&a.tensorData, "TfLiteTensorData", false},
		{&a.tensorName, "TfLiteTensorName", false},
		{&a.tensorCopyFromBuffer, "TfLiteTensorCopyFromBuffer", false},
		{&a.tensorCopyToBuffer, "TfLiteTensorCopyToBuffer", false},
	}
}

// signatures reports whether the signature-runner API is complete.
func (a *api) signatures() bool {
	return a.signatureRunner != nil && a.runnerInputCount != nil && a.runnerOutputCount != nil &&
		a.runnerInputName != nil && a.runnerOutputName != nil && a.runnerInputTensor != nil &&
		a.runnerOutputTensor != nil && a.runnerAllocate != nil && a.runnerInvoke != nil && a.runnerDelete != nil
}

var (
	libMu sync.Mutex
	libs  = map[string]*Library{}
)

// Load opens the TFLite C library at path; an empty path searches
// Candidates(). A library is loaded once per path and kept. The error wraps
// ErrLibrary and names every path tried with the loader's reason, or wraps
// ErrSymbol and names the functions the library lacks.
func Load(path string) (*Library, error) {
	tries := []string{path}
	if path == "" {
		tries = Candidates()
	}
	libMu.Lock()
	defer libMu.Unlock()
	var failed []string
	for _, p := range tries {
		if l, ok := libs[p]; ok {
			return l, nil
		}
		h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			failed = append(failed, dlFailure(p, err))
			continue
		}
		l := &Library{Path: p, handle: h}
		if err := bind(h, l.c.symbols(), p); err != nil {
			return nil, err
		}
		q, err := l.lookup("TfLiteTensorQuantizationParams")
		if err != nil {
			return nil, err
		}
		l.c.tensorQuantization = structFunc1[quantParams](q)
		l.bindTestHooks()
		libs[p] = l
		return l, nil
	}
	hint := "set " + EnvLibrary + " to the path of " + LibraryName()
	if path != "" || os.Getenv(EnvLibrary) != "" {
		hint = "check the path, or unset it to search the usual places"
	}
	return nil, fmt.Errorf("%w: tried %s; %s", ErrLibrary, strings.Join(failed, ", "), hint)
}

// bind resolves syms in the library h (named path in errors).
func bind(h uintptr, syms []symbol, path string) (err error) {
	defer func() {
		if p := recover(); p != nil { // purego refuses a signature on this GOARCH
			err = fmt.Errorf("%w: binding %s on %s: %v", ErrUnavailable, path, runtime.GOARCH, p)
		}
	}()
	var missing []string
	for _, s := range syms {
		p, err := purego.Dlsym(h, s.name)
		if err != nil || p == 0 {
			if !s.optional {
				missing = append(missing, s.name)
			}
			continue
		}
		purego.RegisterFunc(s.fn, p)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %s (is it the TensorFlow Lite C library?)", ErrSymbol, path, strings.Join(missing, ", "))
	}
	return nil
}

func (l *Library) bindTestHooks() {
	_ = bind(l.handle, []symbol{
		{&l.delegateInfo, "LsmsCapiDelegateInfo", true},
		{&l.interpreterInfo, "LsmsCapiInterpreterInfo", true},
	}, l.Path)
}

// lookup resolves one symbol, first in l, then in the extra libraries
// (paths; loaded on demand). The error wraps ErrSymbol and names where it
// looked.
func (l *Library) lookup(name string, extra ...string) (uintptr, error) {
	var where []string
	if l != nil {
		if p, err := purego.Dlsym(l.handle, name); err == nil && p != 0 {
			return p, nil
		}
		where = append(where, l.Path)
	}
	for _, path := range extra {
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			where = append(where, dlFailure(path, err))
			continue
		}
		if p, err := purego.Dlsym(h, name); err == nil && p != 0 {
			return p, nil
		}
		where = append(where, path)
	}
	return 0, fmt.Errorf("%w: %s not found in %s", ErrSymbol, name, strings.Join(where, ", "))
}

// dlFailure is "path (the loader's reason)", without the path twice.
func dlFailure(path string, err error) string {
	return fmt.Sprintf("%s (%s)", path, strings.TrimPrefix(err.Error(), path+": "))
}
