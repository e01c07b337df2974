// Command capi is built with `go build -buildmode=c-shared` into a shared
// library that exports the subset of the TensorFlow Lite C API (v2.18
// signatures and struct layouts) that package runtime/tflitec binds,
// implemented on top of our own interpreter (runtime/interp). The binding's
// tests dlopen it as libtensorflowlite_c, so that the ABI — struct layouts,
// struct returns, pointer lifetimes, the va_list error-reporter callback, the
// GPU delegate's one-thread rule — is exercised for real.
//
// It keeps the C API's contracts and checks the ones a caller can break:
//
//   - TfLiteModelCreate does not copy the model bytes; a checksum taken there
//     is checked again when an interpreter is created and at every Invoke,
//     which fail (through the error reporter) when the bytes changed — a
//     buffer freed or reused too early;
//   - Invoke before AllocateTensors fails, as in TFLite;
//   - TfLiteTensorCopyFromBuffer/CopyToBuffer need the exact byte size and
//     report a mismatch, with a printf-style format and arguments, to the
//     interpreter's error reporter;
//   - the GPU delegate remembers the OS thread that created it; creating an
//     interpreter with it, invoking it or deleting it on another thread fails.
//
// Delegates do not accelerate anything here: they record their options so
// that the tests can read back what crossed the ABI (LsmsCapiDelegateInfo,
// LsmsCapiInterpreterInfo). NNAPI is not exported, as in TFLite builds for
// anything but Android. The library also acts as an external-delegate plugin
// (tflite_plugin_create_delegate / tflite_plugin_destroy_delegate).
//
// It is a test peer, not a backend: use runtime/interp directly instead.
package main

/*
#cgo linux LDFLAGS: -lpthread
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
static long lsms_gettid(void) { return syscall(SYS_gettid); }
#else
static long lsms_gettid(void) { return 0; }
#endif

typedef enum TfLiteStatus {
  kTfLiteOk = 0,
  kTfLiteError = 1,
  kTfLiteDelegateError = 2,
  kTfLiteApplicationError = 3,
  kTfLiteDelegateDataNotFound = 4,
  kTfLiteDelegateDataWriteError = 5,
  kTfLiteDelegateDataReadError = 6,
  kTfLiteUnresolvedOps = 7,
  kTfLiteCancelled = 8,
} TfLiteStatus;

typedef enum TfLiteType {
  kTfLiteNoType = 0,
  kTfLiteFloat32 = 1,
  kTfLiteInt32 = 2,
  kTfLiteUInt8 = 3,
  kTfLiteInt64 = 4,
  kTfLiteString = 5,
  kTfLiteBool = 6,
  kTfLiteInt16 = 7,
  kTfLiteComplex64 = 8,
  kTfLiteInt8 = 9,
  kTfLiteFloat16 = 10,
  kTfLiteFloat64 = 11,
  kTfLiteComplex128 = 12,
  kTfLiteUInt64 = 13,
  kTfLiteResource = 14,
  kTfLiteVariant = 15,
  kTfLiteUInt32 = 16,
  kTfLiteUInt16 = 17,
  kTfLiteInt4 = 18,
  kTfLiteBFloat16 = 19,
} TfLiteType;

typedef struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;

// Opaque to callers; here each holds a runtime/cgo handle of the Go object.
typedef struct TfLiteModel { uintptr_t h; } TfLiteModel;
typedef struct TfLiteInterpreterOptions { uintptr_t h; } TfLiteInterpreterOptions;
typedef struct TfLiteInterpreter { uintptr_t h; } TfLiteInterpreter;
typedef struct TfLiteTensor { uintptr_t h; } TfLiteTensor;
typedef struct TfLiteSignatureRunner { uintptr_t h; } TfLiteSignatureRunner;
typedef struct TfLiteDelegate { uint64_t magic; uintptr_t h; } TfLiteDelegate;

typedef void (*TfLiteReporter)(void* user_data, const char* format, va_list args);
typedef void (*TfLitePluginReportError)(const char*);

// tensorflow/lite/delegates/xnnpack/xnnpack_delegate.h
typedef struct {
  int32_t num_threads;
  uint32_t flags;
  struct TfLiteXNNPackDelegateWeightsCache* weights_cache;
  bool handle_variable_ops;
  const char* weight_cache_file_path;
} TfLiteXNNPackDelegateOptions;

// tensorflow/lite/delegates/gpu/delegate_options.h
typedef struct {
  int32_t is_precision_loss_allowed;
  int32_t inference_preference;
  int32_t inference_priority1;
  int32_t inference_priority2;
  int32_t inference_priority3;
  int64_t experimental_flags;
  int32_t max_delegated_partitions;
  const char* serialization_dir;
  const char* model_token;
} TfLiteGpuDelegateOptionsV2;

// user_data is carried in Go as an integer: it is opaque, and need not be a
// valid pointer (the Go runtime would reject an invalid unsafe.Pointer).
static void lsms_vreport(TfLiteReporter fn, uintptr_t ud, const char* format, ...) {
  va_list args;
  va_start(args, format);
  if (fn) {
    fn((void*)ud, format, args);
  } else {
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
  }
  va_end(args);
}

static void lsms_report(TfLiteReporter fn, uintptr_t ud, const char* msg) {
  lsms_vreport(fn, ud, "%s", msg);
}

static void lsms_report_size(TfLiteReporter fn, uintptr_t ud, const char* call,
                             const char* name, size_t want, size_t got) {
  lsms_vreport(fn, ud, "%s: tensor '%s' holds %zu bytes, the buffer has %zu",
               call, name, want, got);
}

typedef struct {
  TfLiteReporter fn;
  uintptr_t ud;
  const char* msg;
} lsms_thread_args;

static void* lsms_thread_main(void* p) {
  lsms_thread_args* a = (lsms_thread_args*)p;
  lsms_vreport(a->fn, a->ud, "from a C thread: %s", a->msg);
  return NULL;
}

// lsms_report_from_thread calls the reporter on a new C thread, one the Go
// runtime of the caller has never seen (TFLite may report from its own
// worker threads).
static int lsms_report_from_thread(TfLiteReporter fn, uintptr_t ud, const char* msg) {
  pthread_t t;
  lsms_thread_args a = {fn, ud, msg};
  if (pthread_create(&t, NULL, lsms_thread_main, &a) != 0) return -1;
  return pthread_join(t, NULL);
}

static void lsms_plugin_report(TfLitePluginReportError fn, const char* msg) {
  if (fn) fn(msg);
}
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
)

func main() {}

var version = C.CString("2.18.0+lsms.capi")

// TfLiteVersion is the version of the C API this library implements.
//
//export TfLiteVersion
func TfLiteVersion() *C.char { return version }

// TfLiteSchemaVersion is the flatbuffer schema version read.
//
//export TfLiteSchemaVersion
func TfLiteSchemaVersion() C.int { return C.int(tflite.SchemaVersion) }

// --- objects --------------------------------------------------------------

type model struct {
	data []byte // the caller's bytes, not copied
	sum  uint32
	m    *tflite.Model
}

func (m *model) changed() bool { return crc32.ChecksumIEEE(m.data) != m.sum }

type reporter struct {
	fn C.TfLiteReporter
	ud C.uintptr_t
}

func (r reporter) report(format string, args ...any) {
	msg := C.CString(fmt.Sprintf(format, args...))
	C.lsms_report(r.fn, r.ud, msg)
	C.free(unsafe.Pointer(msg))
}

type options struct {
	threads          int
	rep              reporter
	delegates        []*C.TfLiteDelegate
	cancellation     bool
	delegateFallback bool
}

type interpreter struct {
	mdl     model
	opt     options
	it      *interp.Interpreter
	ready   bool // AllocateTensors was called
	inputs  []*C.TfLiteTensor
	outputs []*C.TfLiteTensor
	owned   []*C.TfLiteTensor
	runners map[*C.TfLiteSignatureRunner]bool
	cancel  atomic.Bool
	invokes int
	pin     runtime.Pinner
	info    *C.char
}

type tensor struct {
	ip   *interpreter
	t    *kernels.Tensor
	name *C.char
}

type runner struct {
	ip       *interpreter
	it       *interp.Interpreter
	ready    bool
	inNames  []*C.char
	outNames []*C.char
	in, out  map[string]*C.TfLiteTensor
	owned    []*C.TfLiteTensor
}

type delegate struct {
	Kind string `json:"kind"`
	// XNNPACK
	NumThreads      int32  `json:"num_threads,omitempty"`
	Flags           uint32 `json:"flags,omitempty"`
	WeightCacheFile string `json:"weight_cache_file_path,omitempty"`
	// GPU
	PrecisionLossAllowed int32  `json:"is_precision_loss_allowed,omitempty"`
	InferencePreference  int32  `json:"inference_preference,omitempty"`
	Priorities           []int  `json:"inference_priorities,omitempty"`
	ExperimentalFlags    int64  `json:"experimental_flags,omitempty"`
	MaxPartitions        int32  `json:"max_delegated_partitions,omitempty"`
	SerializationDir     string `json:"serialization_dir,omitempty"`
	ModelToken           string `json:"model_token,omitempty"`
	// external plugin
	Options map[string]string `json:"options,omitempty"`

	thread int // OS thread that created a GPU delegate
	info   *C.char
}

const delegateMagic = 0x4c534d5344454c47 // "LSMSDELG"

func newHandle[T any](v T, size C.size_t) unsafe.Pointer {
	p := C.calloc(1, size)
	*(*C.uintptr_t)(p) = C.uintptr_t(cgo.NewHandle(v))
	return p
}

func get[T any](p unsafe.Pointer) (T, bool) {
	var zero T
	if p == nil {
		return zero, false
	}
	v, ok := cgo.Handle(*(*C.uintptr_t)(p)).Value().(T)
	return v, ok
}

func freeHandle(p unsafe.Pointer) {
	if p == nil {
		return
	}
	cgo.Handle(*(*C.uintptr_t)(p)).Delete()
	C.free(p)
}

func getDelegate(d *C.TfLiteDelegate) (*delegate, bool) {
	if d == nil || d.magic != delegateMagic {
		return nil, false
	}
	v, ok := cgo.Handle(d.h).Value().(*delegate)
	return v, ok
}

func newDelegate(d *delegate) *C.TfLiteDelegate {
	p := (*C.TfLiteDelegate)(C.calloc(1, C.sizeof_TfLiteDelegate))
	p.magic = delegateMagic
	p.h = C.uintptr_t(cgo.NewHandle(d))
	return p
}

func deleteDelegate(p *C.TfLiteDelegate) {
	d, ok := getDelegate(p)
	if !ok {
		return
	}
	if d.Kind == "gpu" && d.thread != gettid() {
		threadViolations.Add(1)
		r := reporter{}
		r.report("TfLiteGpuDelegateV2Delete: delegate created on thread %d, deleted on thread %d", d.thread, gettid())
	}
	if d.info != nil {
		C.free(unsafe.Pointer(d.info))
	}
	cgo.Handle(p.h).Delete()
	p.magic = 0
	C.free(unsafe.Pointer(p))
}

var threadViolations atomic.Int64

// gettid is the calling OS thread (0 where unknown: no check).
func gettid() int { return int(C.lsms_gettid()) }

// --- model ----------------------------------------------------------------

func createModel(data unsafe.Pointer, size C.size_t, rep reporter) *C.TfLiteModel {
	if data == nil || size == 0 {
		rep.report("TfLiteModelCreate: no model data")
		return nil
	}
	b := unsafe.Slice((*byte)(data), int(size))
	m, err := tflite.Read(b)
	if err != nil {
		rep.report("TfLiteModelCreate: %v", err)
		return nil
	}
	return (*C.TfLiteModel)(newHandle(&model{data: b, sum: crc32.ChecksumIEEE(b), m: m}, C.sizeof_TfLiteModel))
}

// TfLiteModelCreate reads a model from bytes that must outlive it.
//
//export TfLiteModelCreate
func TfLiteModelCreate(data unsafe.Pointer, size C.size_t) *C.TfLiteModel {
	return createModel(data, size, reporter{})
}

// TfLiteModelCreateWithErrorReporter is TfLiteModelCreate with a reporter.
//
//export TfLiteModelCreateWithErrorReporter
func TfLiteModelCreateWithErrorReporter(data unsafe.Pointer, size C.size_t, fn C.TfLiteReporter, ud C.uintptr_t) *C.TfLiteModel {
	return createModel(data, size, reporter{fn, ud})
}

// TfLiteModelDelete frees the model (interpreters made from it live on).
//
//export TfLiteModelDelete
func TfLiteModelDelete(m *C.TfLiteModel) { freeHandle(unsafe.Pointer(m)) }

// --- options --------------------------------------------------------------

// TfLiteInterpreterOptionsCreate makes default options.
//
//export TfLiteInterpreterOptionsCreate
func TfLiteInterpreterOptionsCreate() *C.TfLiteInterpreterOptions {
	return (*C.TfLiteInterpreterOptions)(newHandle(&options{threads: -1}, C.sizeof_TfLiteInterpreterOptions))
}

// TfLiteInterpreterOptionsDelete frees options.
//
//export TfLiteInterpreterOptionsDelete
func TfLiteInterpreterOptionsDelete(o *C.TfLiteInterpreterOptions) { freeHandle(unsafe.Pointer(o)) }

// TfLiteInterpreterOptionsSetNumThreads sets the kernel threads.
//
//export TfLiteInterpreterOptionsSetNumThreads
func TfLiteInterpreterOptionsSetNumThreads(o *C.TfLiteInterpreterOptions, n C.int32_t) {
	if opt, ok := get[*options](unsafe.Pointer(o)); ok {
		opt.threads = int(n)
	}
}

// TfLiteInterpreterOptionsSetErrorReporter sets the error reporter.
//
//export TfLiteInterpreterOptionsSetErrorReporter
func TfLiteInterpreterOptionsSetErrorReporter(o *C.TfLiteInterpreterOptions, fn C.TfLiteReporter, ud C.uintptr_t) {
	if opt, ok := get[*options](unsafe.Pointer(o)); ok {
		opt.rep = reporter{fn, ud}
	}
}

// TfLiteInterpreterOptionsAddDelegate adds a delegate (owned by the caller).
//
//export TfLiteInterpreterOptionsAddDelegate
func TfLiteInterpreterOptionsAddDelegate(o *C.TfLiteInterpreterOptions, d *C.TfLiteDelegate) {
	if opt, ok := get[*options](unsafe.Pointer(o)); ok {
		opt.delegates = append(opt.delegates, d)
	}
}

// TfLiteInterpreterOptionsEnableCancellation enables TfLiteInterpreterCancel.
//
//export TfLiteInterpreterOptionsEnableCancellation
func TfLiteInterpreterOptionsEnableCancellation(o *C.TfLiteInterpreterOptions, enable C.bool) C.TfLiteStatus {
	opt, ok := get[*options](unsafe.Pointer(o))
	if !ok {
		return C.kTfLiteError
	}
	opt.cancellation = bool(enable)
	return C.kTfLiteOk
}

// TfLiteInterpreterOptionsSetEnableDelegateFallback (c_api_experimental.h).
//
//export TfLiteInterpreterOptionsSetEnableDelegateFallback
func TfLiteInterpreterOptionsSetEnableDelegateFallback(o *C.TfLiteInterpreterOptions, enable C.bool) {
	if opt, ok := get[*options](unsafe.Pointer(o)); ok {
		opt.delegateFallback = bool(enable)
	}
}

// --- interpreter ----------------------------------------------------------

func (ip *interpreter) tensorHandle(t *kernels.Tensor) *C.TfLiteTensor {
	p := (*C.TfLiteTensor)(newHandle(&tensor{ip: ip, t: t, name: C.CString(t.Name)}, C.sizeof_TfLiteTensor))
	ip.owned = append(ip.owned, p)
	return p
}

// checkDelegates reports delegates that are not ours and GPU delegates used
// off their thread.
func checkDelegates(call string, rep reporter, ds []*C.TfLiteDelegate) C.TfLiteStatus {
	for _, p := range ds {
		d, ok := getDelegate(p)
		if !ok {
			rep.report("%s: delegate %p was not made by this library", call, unsafe.Pointer(p))
			return C.kTfLiteDelegateError
		}
		if d.Kind == "gpu" && d.thread != gettid() {
			threadViolations.Add(1)
			rep.report("%s: GPU delegate created on thread %d, used on thread %d", call, d.thread, gettid())
			return C.kTfLiteDelegateError
		}
	}
	return C.kTfLiteOk
}

// TfLiteInterpreterCreate prepares an interpreter for a model.
//
//export TfLiteInterpreterCreate
func TfLiteInterpreterCreate(m *C.TfLiteModel, o *C.TfLiteInterpreterOptions) *C.TfLiteInterpreter {
	var opt options
	if o != nil {
		p, ok := get[*options](unsafe.Pointer(o))
		if !ok {
			return nil
		}
		opt = *p
		opt.delegates = append([]*C.TfLiteDelegate(nil), p.delegates...)
	}
	mdl, ok := get[*model](unsafe.Pointer(m))
	if !ok {
		opt.rep.report("TfLiteInterpreterCreate: no model")
		return nil
	}
	if mdl.changed() {
		opt.rep.report("TfLiteInterpreterCreate: the model bytes changed since TfLiteModelCreate (the buffer must outlive the model and its interpreters, unmodified)")
		return nil
	}
	if checkDelegates("TfLiteInterpreterCreate", opt.rep, opt.delegates) != C.kTfLiteOk {
		return nil
	}
	it, err := interp.New(mdl.m, interp.Options{Threads: max(opt.threads, 1)})
	if err != nil {
		opt.rep.report("TfLiteInterpreterCreate: %v", err)
		return nil
	}
	ip := &interpreter{mdl: *mdl, opt: opt, it: it, runners: map[*C.TfLiteSignatureRunner]bool{}}
	for i := range it.NumInputs() {
		ip.inputs = append(ip.inputs, ip.tensorHandle(it.InputTensor(i)))
	}
	for i := range it.NumOutputs() {
		ip.outputs = append(ip.outputs, ip.tensorHandle(it.OutputTensor(i)))
	}
	return (*C.TfLiteInterpreter)(newHandle(ip, C.sizeof_TfLiteInterpreter))
}

func freeTensors(ts []*C.TfLiteTensor) {
	for _, p := range ts {
		if t, ok := get[*tensor](unsafe.Pointer(p)); ok {
			C.free(unsafe.Pointer(t.name))
		}
		freeHandle(unsafe.Pointer(p))
	}
}

// TfLiteInterpreterDelete frees the interpreter.
//
//export TfLiteInterpreterDelete
func TfLiteInterpreterDelete(p *C.TfLiteInterpreter) {
	ip, ok := get[*interpreter](unsafe.Pointer(p))
	if !ok {
		return
	}
	for r := range ip.runners {
		TfLiteSignatureRunnerDelete(r)
	}
	freeTensors(ip.owned)
	ip.it.Close()
	ip.pin.Unpin()
	if ip.info != nil {
		C.free(unsafe.Pointer(ip.info))
	}
	freeHandle(unsafe.Pointer(p))
}

//export TfLiteInterpreterGetInputTensorCount
func TfLiteInterpreterGetInputTensorCount(p *C.TfLiteInterpreter) C.int32_t {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil {
		return 0
	}
	return C.int32_t(len(ip.inputs))
}

//export TfLiteInterpreterGetOutputTensorCount
func TfLiteInterpreterGetOutputTensorCount(p *C.TfLiteInterpreter) C.int32_t {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil {
		return 0
	}
	return C.int32_t(len(ip.outputs))
}

//export TfLiteInterpreterGetInputTensor
func TfLiteInterpreterGetInputTensor(p *C.TfLiteInterpreter, i C.int32_t) *C.TfLiteTensor {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil || i < 0 || int(i) >= len(ip.inputs) {
		return nil
	}
	return ip.inputs[i]
}

//export TfLiteInterpreterGetOutputTensor
func TfLiteInterpreterGetOutputTensor(p *C.TfLiteInterpreter, i C.int32_t) *C.TfLiteTensor {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil || i < 0 || int(i) >= len(ip.outputs) {
		return nil
	}
	return ip.outputs[i]
}

//export TfLiteInterpreterAllocateTensors
func TfLiteInterpreterAllocateTensors(p *C.TfLiteInterpreter) C.TfLiteStatus {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil {
		return C.kTfLiteError
	}
	ip.ready = true // interp allocated its arena in New
	return C.kTfLiteOk
}

func (ip *interpreter) invoke(call string, it *interp.Interpreter, ready bool) C.TfLiteStatus {
	rep := ip.opt.rep
	if !ready {
		rep.report("%s: Invoke called on model that is not ready (call AllocateTensors first)", call)
		return C.kTfLiteError
	}
	if ip.mdl.changed() {
		rep.report("%s: the model bytes changed since TfLiteModelCreate (the buffer must outlive the model and its interpreters, unmodified)", call)
		return C.kTfLiteError
	}
	if s := checkDelegates(call, rep, ip.opt.delegates); s != C.kTfLiteOk {
		return s
	}
	ip.cancel.Store(false)
	if err := it.Invoke(); err != nil {
		rep.report("%s: %v", call, err)
		return C.kTfLiteError
	}
	ip.invokes++
	if ip.cancel.Swap(false) {
		return C.kTfLiteCancelled
	}
	return C.kTfLiteOk
}

//export TfLiteInterpreterInvoke
func TfLiteInterpreterInvoke(p *C.TfLiteInterpreter) C.TfLiteStatus {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil {
		return C.kTfLiteError
	}
	return ip.invoke("TfLiteInterpreterInvoke", ip.it, ip.ready)
}

//export TfLiteInterpreterCancel
func TfLiteInterpreterCancel(p *C.TfLiteInterpreter) C.TfLiteStatus {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil || !ip.opt.cancellation {
		return C.kTfLiteError
	}
	ip.cancel.Store(true)
	return C.kTfLiteOk
}

// --- signature runners ----------------------------------------------------

//export TfLiteInterpreterGetSignatureCount
func TfLiteInterpreterGetSignatureCount(p *C.TfLiteInterpreter) C.int32_t {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil {
		return 0
	}
	return C.int32_t(len(ip.mdl.m.SignatureDefs))
}

//export TfLiteInterpreterGetSignatureRunner
func TfLiteInterpreterGetSignatureRunner(p *C.TfLiteInterpreter, key *C.char) *C.TfLiteSignatureRunner {
	ip, _ := get[*interpreter](unsafe.Pointer(p))
	if ip == nil || key == nil {
		return nil
	}
	k := C.GoString(key)
	sig, ok := ip.mdl.m.Signature(k)
	if !ok {
		return nil
	}
	it, err := interp.New(ip.mdl.m, interp.Options{Threads: max(ip.opt.threads, 1), Signature: k})
	if err != nil {
		ip.opt.rep.report("TfLiteInterpreterGetSignatureRunner(%q): %v", k, err)
		return nil
	}
	r := &runner{ip: ip, it: it, in: map[string]*C.TfLiteTensor{}, out: map[string]*C.TfLiteTensor{}}
	for _, tm := range sig.Inputs {
		i, _ := it.InputIndex(tm.Name)
		t := (*C.TfLiteTensor)(newHandle(&tensor{ip: ip, t: it.InputTensor(i), name: C.CString(it.InputTensor(i).Name)}, C.sizeof_TfLiteTensor))
		r.owned = append(r.owned, t)
		r.in[tm.Name] = t
		r.inNames = append(r.inNames, C.CString(tm.Name))
	}
	for _, tm := range sig.Outputs {
		i, _ := it.OutputIndex(tm.Name)
		t := (*C.TfLiteTensor)(newHandle(&tensor{ip: ip, t: it.OutputTensor(i), name: C.CString(it.OutputTensor(i).Name)}, C.sizeof_TfLiteTensor))
		r.owned = append(r.owned, t)
		r.out[tm.Name] = t
		r.outNames = append(r.outNames, C.CString(tm.Name))
	}
	h := (*C.TfLiteSignatureRunner)(newHandle(r, C.sizeof_TfLiteSignatureRunner))
	ip.runners[h] = true
	return h
}

//export TfLiteSignatureRunnerGetInputCount
func TfLiteSignatureRunnerGetInputCount(p *C.TfLiteSignatureRunner) C.size_t {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil {
		return 0
	}
	return C.size_t(len(r.inNames))
}

//export TfLiteSignatureRunnerGetOutputCount
func TfLiteSignatureRunnerGetOutputCount(p *C.TfLiteSignatureRunner) C.size_t {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil {
		return 0
	}
	return C.size_t(len(r.outNames))
}

//export TfLiteSignatureRunnerGetInputName
func TfLiteSignatureRunnerGetInputName(p *C.TfLiteSignatureRunner, i C.int32_t) *C.char {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil || i < 0 || int(i) >= len(r.inNames) {
		return nil
	}
	return r.inNames[i]
}

//export TfLiteSignatureRunnerGetOutputName
func TfLiteSignatureRunnerGetOutputName(p *C.TfLiteSignatureRunner, i C.int32_t) *C.char {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil || i < 0 || int(i) >= len(r.outNames) {
		return nil
	}
	return r.outNames[i]
}

//export TfLiteSignatureRunnerGetInputTensor
func TfLiteSignatureRunnerGetInputTensor(p *C.TfLiteSignatureRunner, name *C.char) *C.TfLiteTensor {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil || name == nil {
		return nil
	}
	return r.in[C.GoString(name)]
}

//export TfLiteSignatureRunnerGetOutputTensor
func TfLiteSignatureRunnerGetOutputTensor(p *C.TfLiteSignatureRunner, name *C.char) *C.TfLiteTensor {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil || name == nil {
		return nil
	}
	return r.out[C.GoString(name)]
}

//export TfLiteSignatureRunnerAllocateTensors
func TfLiteSignatureRunnerAllocateTensors(p *C.TfLiteSignatureRunner) C.TfLiteStatus {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil {
		return C.kTfLiteError
	}
	r.ready = true
	return C.kTfLiteOk
}

//export TfLiteSignatureRunnerInvoke
func TfLiteSignatureRunnerInvoke(p *C.TfLiteSignatureRunner) C.TfLiteStatus {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil {
		return C.kTfLiteError
	}
	return r.ip.invoke("TfLiteSignatureRunnerInvoke", r.it, r.ready)
}

//export TfLiteSignatureRunnerDelete
func TfLiteSignatureRunnerDelete(p *C.TfLiteSignatureRunner) {
	r, _ := get[*runner](unsafe.Pointer(p))
	if r == nil {
		return
	}
	delete(r.ip.runners, p)
	freeTensors(r.owned)
	for _, s := range append(r.inNames, r.outNames...) {
		C.free(unsafe.Pointer(s))
	}
	r.it.Close()
	freeHandle(unsafe.Pointer(p))
}

// --- tensors --------------------------------------------------------------

var tfliteTypes = map[tflite.DType]C.TfLiteType{
	tflite.Float32: C.kTfLiteFloat32, tflite.Int32: C.kTfLiteInt32, tflite.UInt8: C.kTfLiteUInt8,
	tflite.Int64: C.kTfLiteInt64, tflite.String: C.kTfLiteString, tflite.Bool: C.kTfLiteBool,
	tflite.Int16: C.kTfLiteInt16, tflite.Complex64: C.kTfLiteComplex64, tflite.Int8: C.kTfLiteInt8,
	tflite.Float16: C.kTfLiteFloat16, tflite.Float64: C.kTfLiteFloat64, tflite.Complex128: C.kTfLiteComplex128,
	tflite.UInt64: C.kTfLiteUInt64, tflite.Resource: C.kTfLiteResource, tflite.Variant: C.kTfLiteVariant,
	tflite.UInt32: C.kTfLiteUInt32, tflite.UInt16: C.kTfLiteUInt16, tflite.Int4: C.kTfLiteInt4,
	tflite.BFloat16: C.kTfLiteBFloat16,
}

func getTensor(p *C.TfLiteTensor) *tensor {
	t, _ := get[*tensor](unsafe.Pointer(p))
	return t
}

//export TfLiteTensorType
func TfLiteTensorType(p *C.TfLiteTensor) C.TfLiteType {
	if t := getTensor(p); t != nil {
		return tfliteTypes[t.t.Type]
	}
	return C.kTfLiteNoType
}

//export TfLiteTensorNumDims
func TfLiteTensorNumDims(p *C.TfLiteTensor) C.int32_t {
	if t := getTensor(p); t != nil {
		return C.int32_t(len(t.t.Shape))
	}
	return -1
}

//export TfLiteTensorDim
func TfLiteTensorDim(p *C.TfLiteTensor, i C.int32_t) C.int32_t {
	if t := getTensor(p); t != nil && i >= 0 && int(i) < len(t.t.Shape) {
		return C.int32_t(t.t.Shape[i])
	}
	return -1
}

//export TfLiteTensorByteSize
func TfLiteTensorByteSize(p *C.TfLiteTensor) C.size_t {
	if t := getTensor(p); t != nil {
		return C.size_t(t.t.Bytes())
	}
	return 0
}

//export TfLiteTensorData
func TfLiteTensorData(p *C.TfLiteTensor) unsafe.Pointer {
	t := getTensor(p)
	if t == nil || !t.ip.ready || len(t.t.Data) == 0 {
		return nil
	}
	d := unsafe.Pointer(unsafe.SliceData(t.t.Data))
	t.ip.pin.Pin(d) // a Go pointer handed to C must be pinned
	return d
}

//export TfLiteTensorName
func TfLiteTensorName(p *C.TfLiteTensor) *C.char {
	if t := getTensor(p); t != nil {
		return t.name
	}
	return nil
}

//export TfLiteTensorQuantizationParams
func TfLiteTensorQuantizationParams(p *C.TfLiteTensor) C.TfLiteQuantizationParams {
	var q C.TfLiteQuantizationParams
	// As TFLite: the per-tensor parameters are set only for one scale.
	if t := getTensor(p); t != nil && len(t.t.Scale) == 1 {
		q.scale = C.float(t.t.Scale[0])
		q.zero_point = C.int32_t(t.t.ZeroPoint[0])
	}
	return q
}

//export TfLiteTensorCopyFromBuffer
func TfLiteTensorCopyFromBuffer(p *C.TfLiteTensor, data unsafe.Pointer, size C.size_t) C.TfLiteStatus {
	t := getTensor(p)
	if t == nil {
		return C.kTfLiteError
	}
	if int(size) != t.t.Bytes() {
		rep := t.ip.opt.rep
		call := C.CString("TfLiteTensorCopyFromBuffer")
		C.lsms_report_size(rep.fn, rep.ud, call, t.name, C.size_t(t.t.Bytes()), size)
		C.free(unsafe.Pointer(call))
		return C.kTfLiteError
	}
	if size > 0 {
		copy(t.t.Data, unsafe.Slice((*byte)(data), int(size)))
	}
	return C.kTfLiteOk
}

//export TfLiteTensorCopyToBuffer
func TfLiteTensorCopyToBuffer(p *C.TfLiteTensor, data unsafe.Pointer, size C.size_t) C.TfLiteStatus {
	t := getTensor(p)
	if t == nil {
		return C.kTfLiteError
	}
	if int(size) != t.t.Bytes() {
		rep := t.ip.opt.rep
		call := C.CString("TfLiteTensorCopyToBuffer")
		C.lsms_report_size(rep.fn, rep.ud, call, t.name, C.size_t(t.t.Bytes()), size)
		C.free(unsafe.Pointer(call))
		return C.kTfLiteError
	}
	if size > 0 {
		copy(unsafe.Slice((*byte)(data), int(size)), t.t.Data)
	}
	return C.kTfLiteOk
}

// --- delegates ------------------------------------------------------------

// XNNPACK flags (xnnpack_delegate.h).
const (
	xnnpackQS8 = 0x1
	xnnpackQU8 = 0x2
)

//export TfLiteXNNPackDelegateOptionsDefault
func TfLiteXNNPackDelegateOptionsDefault() C.TfLiteXNNPackDelegateOptions {
	var o C.TfLiteXNNPackDelegateOptions
	o.flags = xnnpackQS8 | xnnpackQU8
	return o
}

//export TfLiteXNNPackDelegateCreate
func TfLiteXNNPackDelegateCreate(o *C.TfLiteXNNPackDelegateOptions) *C.TfLiteDelegate {
	if o == nil {
		d := TfLiteXNNPackDelegateOptionsDefault()
		o = &d
	}
	d := &delegate{Kind: "xnnpack", NumThreads: int32(o.num_threads), Flags: uint32(o.flags)}
	if o.weight_cache_file_path != nil {
		d.WeightCacheFile = C.GoString(o.weight_cache_file_path)
	}
	return newDelegate(d)
}

//export TfLiteXNNPackDelegateDelete
func TfLiteXNNPackDelegateDelete(p *C.TfLiteDelegate) { deleteDelegate(p) }

// GPU defaults as in delegates/gpu/delegate_options.cc.
//
//export TfLiteGpuDelegateOptionsV2Default
func TfLiteGpuDelegateOptionsV2Default() C.TfLiteGpuDelegateOptionsV2 {
	var o C.TfLiteGpuDelegateOptionsV2
	o.is_precision_loss_allowed = 0
	o.inference_preference = 0 // FAST_SINGLE_ANSWER
	o.inference_priority1 = 1  // MAX_PRECISION
	o.inference_priority2 = 0  // AUTO
	o.inference_priority3 = 0
	o.experimental_flags = 1 // ENABLE_QUANT
	o.max_delegated_partitions = 1
	return o
}

//export TfLiteGpuDelegateV2Create
func TfLiteGpuDelegateV2Create(o *C.TfLiteGpuDelegateOptionsV2) *C.TfLiteDelegate {
	if o == nil {
		d := TfLiteGpuDelegateOptionsV2Default()
		o = &d
	}
	d := &delegate{Kind: "gpu", thread: gettid(),
		PrecisionLossAllowed: int32(o.is_precision_loss_allowed),
		InferencePreference:  int32(o.inference_preference),
		Priorities:           []int{int(o.inference_priority1), int(o.inference_priority2), int(o.inference_priority3)},
		ExperimentalFlags:    int64(o.experimental_flags),
		MaxPartitions:        int32(o.max_delegated_partitions),
	}
	if o.serialization_dir != nil {
		d.SerializationDir = C.GoString(o.serialization_dir)
	}
	if o.model_token != nil {
		d.ModelToken = C.GoString(o.model_token)
	}
	return newDelegate(d)
}

//export TfLiteGpuDelegateV2Delete
func TfLiteGpuDelegateV2Delete(p *C.TfLiteDelegate) { deleteDelegate(p) }

// tflite_plugin_create_delegate is the external-delegate plugin entry point
// (delegates/external/external_delegate_interface.h). The option
// "lsms_fail" makes it report its value through report_error and fail.
//
//export tflite_plugin_create_delegate
func tflite_plugin_create_delegate(keys, values **C.char, n C.size_t, reportError C.TfLitePluginReportError) *C.TfLiteDelegate {
	d := &delegate{Kind: "external", Options: map[string]string{}}
	if n > 0 {
		ks := unsafe.Slice(keys, int(n))
		vs := unsafe.Slice(values, int(n))
		for i := range ks {
			d.Options[C.GoString(ks[i])] = C.GoString(vs[i])
		}
	}
	if msg, ok := d.Options["lsms_fail"]; ok {
		c := C.CString("lsms capi plugin: " + msg)
		C.lsms_plugin_report(reportError, c)
		C.free(unsafe.Pointer(c))
		return nil
	}
	return newDelegate(d)
}

//export tflite_plugin_destroy_delegate
func tflite_plugin_destroy_delegate(p *C.TfLiteDelegate) { deleteDelegate(p) }

// --- introspection for the tests ------------------------------------------

var infoMu sync.Mutex

// LsmsCapiDelegateInfo describes a delegate as JSON (what its options were).
// The string lives until the delegate is deleted.
//
//export LsmsCapiDelegateInfo
func LsmsCapiDelegateInfo(p *C.TfLiteDelegate) *C.char {
	d, ok := getDelegate(p)
	if !ok {
		return nil
	}
	infoMu.Lock()
	defer infoMu.Unlock()
	b, _ := json.Marshal(d)
	if d.info != nil {
		C.free(unsafe.Pointer(d.info))
	}
	d.info = C.CString(string(b))
	return d.info
}

// LsmsCapiInterpreterInfo describes an interpreter as JSON: its options and
// the delegates it was created with. The string lives until the next call or
// the interpreter's deletion.
//
//export LsmsCapiInterpreterInfo
func LsmsCapiInterpreterInfo(p *C.TfLiteInterpreter) *C.char {
	ip, ok := get[*interpreter](unsafe.Pointer(p))
	if !ok {
		return nil
	}
	infoMu.Lock()
	defer infoMu.Unlock()
	v := struct {
		Threads          int         `json:"threads"`
		Reporter         bool        `json:"error_reporter"`
		Cancellation     bool        `json:"cancellation"`
		DelegateFallback bool        `json:"delegate_fallback"`
		Invokes          int         `json:"invokes"`
		Delegates        []*delegate `json:"delegates"`
	}{ip.opt.threads, ip.opt.rep.fn != nil, ip.opt.cancellation, ip.opt.delegateFallback, ip.invokes, nil}
	for _, d := range ip.opt.delegates {
		if dd, ok := getDelegate(d); ok {
			v.Delegates = append(v.Delegates, dd)
		}
	}
	b, _ := json.Marshal(v)
	if ip.info != nil {
		C.free(unsafe.Pointer(ip.info))
	}
	ip.info = C.CString(string(b))
	return ip.info
}

// LsmsCapiReportFromThread calls an error reporter from a new C thread and
// waits for it; 0 on success.
//
//export LsmsCapiReportFromThread
func LsmsCapiReportFromThread(fn C.TfLiteReporter, ud C.uintptr_t, msg *C.char) C.int {
	return C.lsms_report_from_thread(fn, ud, msg)
}

// LsmsCapiThreadViolations counts GPU delegates used or deleted off the
// thread that created them.
//
//export LsmsCapiThreadViolations
func LsmsCapiThreadViolations() C.int64_t { return C.int64_t(threadViolations.Load()) }
