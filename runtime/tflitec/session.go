package tflitec

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"unsafe"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

// Config configures the TFLite backend.
type Config struct {
	// Name the backend registers under; empty: "tflite".
	Name string
	// Library is the path of libtensorflowlite_c; empty: $LSMS_TFLITE_LIB,
	// then the usual places (Candidates).
	Library string
	// Delegate to apply; nil: none (TFLite's built-in CPU kernels, which
	// may apply XNNPACK by default depending on the build).
	Delegate Delegate
	// DelegateFallback lets TFLite undo the delegates and run on its CPU
	// kernels when a delegate fails at Invoke
	// (TfLiteInterpreterOptionsSetEnableDelegateFallback, experimental).
	DelegateFallback bool
	// Cancellation enables Session.Cancel.
	Cancellation bool
	// FallbackToNative opens the native backend instead when the library or
	// the delegate is unavailable (errors wrapping ErrUnavailable), and
	// logs that it did.
	FallbackToNative bool
	// Logger for fallbacks and sessions; nil: slog.Default().
	Logger *slog.Logger
}

func (c *Config) name() string {
	if c.Name == "" {
		return "tflite"
	}
	return c.Name
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// Backend is the TFLite C library as a backend.Backend.
type Backend struct{ cfg Config }

// New returns a backend for cfg (not registered; see Register).
func New(cfg Config) *Backend { return &Backend{cfg: cfg} }

// Register registers a backend for cfg under cfg.Name (replacing one of
// that name) and returns it.
func Register(cfg Config) *Backend {
	b := New(cfg)
	backend.Register(b)
	return b
}

func init() {
	Register(Config{Name: "tflite"})
	Register(Config{Name: "tflite+xnnpack", Delegate: &XNNPACK{}})
	Register(Config{Name: "tflite+gpu", Delegate: &GPU{}})
	if runtime.GOOS == "android" {
		Register(Config{Name: "tflite+nnapi", Delegate: &NNAPI{}})
	}
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return b.cfg.name() }

// Config returns the backend's configuration.
func (b *Backend) Config() Config { return b.cfg }

// Open implements backend.Backend; with Config.FallbackToNative it may
// return a native session (see OpenWithFallback).
func (b *Backend) Open(m *tflite.Model, opts backend.Options) (backend.Session, error) {
	s, _, err := OpenWithFallback(m, opts, b.cfg)
	return s, err
}

// OpenWithFallback opens a TFLite session; when that fails because the
// library or the delegate is unavailable (ErrUnavailable) and
// cfg.FallbackToNative is set, it opens the native backend instead, logs a
// warning saying why, and reports fellBack. Other errors are returned.
func OpenWithFallback(m *tflite.Model, opts backend.Options, cfg Config) (s backend.Session, fellBack bool, err error) {
	ts, err := Open(m, opts, cfg)
	if err == nil {
		return ts, false, nil
	}
	if !cfg.FallbackToNative || !errors.Is(err, ErrUnavailable) {
		return nil, false, err
	}
	cfg.logger().Warn("tflite backend unavailable; falling back to the native backend",
		"backend", cfg.name(), "err", err.Error())
	ns, nerr := interp.Native{}.Open(m, opts)
	if nerr != nil {
		return nil, false, fmt.Errorf("%w; the native fallback failed too: %w", err, nerr)
	}
	return ns, true, nil
}

// port is a session input or output.
type port struct {
	t     uintptr
	info  backend.TensorInfo
	bytes int
}

// Session is a TFLite interpreter (or signature runner) for one model. It
// is not safe for concurrent use, except Cancel.
type Session struct {
	lib       *Library
	cfg       Config
	exec      executor
	model     []byte // the flatbuffer; must outlive the interpreter
	pin       runtime.Pinner
	sink      *sink
	ip        uintptr
	runner    uintptr
	delegates []*liveDelegate
	in, out   []port
	closed    bool
}

var _ backend.Session = (*Session)(nil)

// Open loads the library and prepares a session for m; no fallback. The
// model bytes are opts.Flatbuffer when given (they must be what m was read
// from), else m serialised again.
func Open(m *tflite.Model, opts backend.Options, cfg Config) (*Session, error) {
	if cfg.Delegate != nil {
		if err := cfg.Delegate.Validate(); err != nil {
			return nil, err
		}
	}
	lib, err := Load(cfg.Library)
	if err != nil {
		return nil, err
	}
	data, err := modelBytes(m, opts)
	if err != nil {
		return nil, err
	}
	var sig *tflite.SignatureDef
	if opts.Signature != "" {
		s, ok := m.Signature(opts.Signature)
		if !ok {
			return nil, fmt.Errorf("tflite: no signature %q", opts.Signature)
		}
		if !lib.c.signatures() {
			return nil, fmt.Errorf("%w: %s lacks the signature runner API (TfLiteInterpreterGetSignatureRunner and friends)", ErrSymbol, lib.Path)
		}
		sig = s
	}
	s := &Session{lib: lib, cfg: cfg, exec: inline{}, model: data}
	if cfg.Delegate != nil && cfg.Delegate.ownThread() {
		s.exec = newLockedThread()
	}
	setupCallbacks()
	s.sink = newSink()
	s.exec.do(func() { err = s.open(m, sig, max(opts.Threads, 1)) })
	if err != nil {
		s.Close()
		return nil, err
	}
	d := "none"
	if cfg.Delegate != nil {
		d = cfg.Delegate.Kind()
	}
	cfg.logger().Debug("tflite session", "backend", cfg.name(), "library", lib.Path, "version", lib.Version(), "delegate", d)
	return s, nil
}

// modelBytes returns the flatbuffer for m.
func modelBytes(m *tflite.Model, opts backend.Options) ([]byte, error) {
	fb := opts.Flatbuffer
	if len(fb) == 0 {
		b, err := m.Marshal()
		if err != nil {
			return nil, fmt.Errorf("tflite: serialising the model: %w", err)
		}
		return b, nil
	}
	// The constant buffers of a model read from fb alias it.
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(fb)))
	hi := lo + uintptr(len(fb))
	for i, b := range m.Buffers {
		if len(b) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if p < lo || p+uintptr(len(b)) > hi {
			return nil, fmt.Errorf("tflite: Options.Flatbuffer is not the buffer the model was read from (buffer %d lies outside it)", i)
		}
	}
	return fb, nil
}

func (s *Session) call(name, what string, st int32) error {
	if st == 0 {
		return nil
	}
	return &CallError{Call: name, What: what, Status: Status(st), Messages: s.sink.take()}
}

func (s *Session) nullError(name string) error {
	return &CallError{Call: name, Status: StatusError, Messages: s.sink.take()}
}

// open runs on the session's executor.
func (s *Session) open(m *tflite.Model, sig *tflite.SignatureDef, threads int) error {
	c := &s.lib.c
	if d := s.cfg.Delegate; d != nil {
		ld, err := d.create(s.lib, threads)
		if err != nil {
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrConfig) {
				err = fmt.Errorf("%w: %s: %w", ErrDelegate, d.Kind(), err)
			}
			return err
		}
		s.delegates = append(s.delegates, ld)
	}
	s.pin.Pin(unsafe.SliceData(s.model))
	var model uintptr
	if c.modelCreateWithReporter != nil {
		model = c.modelCreateWithReporter(unsafe.Pointer(unsafe.SliceData(s.model)), uintptr(len(s.model)), reporterFn, s.sink.id)
	} else {
		model = c.modelCreate(unsafe.Pointer(unsafe.SliceData(s.model)), uintptr(len(s.model)))
	}
	if model == 0 {
		return s.nullError("TfLiteModelCreate")
	}
	// The interpreter does not need the model object, only its bytes.
	defer c.modelDelete(model)

	o := c.optionsCreate()
	if o == 0 {
		return s.nullError("TfLiteInterpreterOptionsCreate")
	}
	defer c.optionsDelete(o)
	c.optionsSetNumThreads(o, int32(threads))
	c.optionsSetErrorReporter(o, reporterFn, s.sink.id)
	if s.cfg.Cancellation {
		if c.optionsEnableCancellation == nil || c.cancel == nil {
			return fmt.Errorf("%w: %s lacks TfLiteInterpreterOptionsEnableCancellation/TfLiteInterpreterCancel (Config.Cancellation)", ErrSymbol, s.lib.Path)
		}
		if err := s.call("TfLiteInterpreterOptionsEnableCancellation", "", c.optionsEnableCancellation(o, true)); err != nil {
			return err
		}
	}
	if s.cfg.DelegateFallback {
		if c.optionsSetDelegateFallbk == nil {
			return fmt.Errorf("%w: %s lacks TfLiteInterpreterOptionsSetEnableDelegateFallback (Config.DelegateFallback)", ErrSymbol, s.lib.Path)
		}
		c.optionsSetDelegateFallbk(o, true)
	}
	for _, d := range s.delegates {
		c.optionsAddDelegate(o, d.ptr)
	}
	if s.ip = c.interpreterCreate(model, o); s.ip == 0 {
		err := s.nullError("TfLiteInterpreterCreate")
		if len(s.delegates) > 0 {
			return fmt.Errorf("%w: applying the %s delegate: %w", ErrDelegate, s.delegates[0].kind, err)
		}
		return err
	}
	if sig != nil {
		return s.openSignature(m, sig)
	}
	if err := s.call("TfLiteInterpreterAllocateTensors", "", c.allocateTensors(s.ip)); err != nil {
		return err
	}
	sg := m.Subgraphs[0]
	for i := range int(c.inputCount(s.ip)) {
		p, err := s.describe(c.inputTensor(s.ip, int32(i)), "", tensorAt(sg, sg.Inputs, i))
		if err != nil {
			return fmt.Errorf("tflite: input %d: %w", i, err)
		}
		s.in = append(s.in, p)
	}
	for i := range int(c.outputCount(s.ip)) {
		p, err := s.describe(c.outputTensor(s.ip, int32(i)), "", tensorAt(sg, sg.Outputs, i))
		if err != nil {
			return fmt.Errorf("tflite: output %d: %w", i, err)
		}
		s.out = append(s.out, p)
	}
	return nil
}

func tensorAt(sg *tflite.Subgraph, idx []int, i int) *tflite.Tensor {
	if i < len(idx) && idx[i] >= 0 && idx[i] < len(sg.Tensors) {
		return sg.Tensors[idx[i]]
	}
	return nil
}

// openSignature takes inputs and outputs from a signature runner, in the
// signature's order in the model (as the native backend does).
func (s *Session) openSignature(m *tflite.Model, sig *tflite.SignatureDef) error {
	c := &s.lib.c
	if s.runner = c.signatureRunner(s.ip, sig.Key); s.runner == 0 {
		return s.nullError(fmt.Sprintf("TfLiteInterpreterGetSignatureRunner(%q)", sig.Key))
	}
	if err := s.call("TfLiteSignatureRunnerAllocateTensors", "", c.runnerAllocate(s.runner)); err != nil {
		return err
	}
	if n := int(c.runnerInputCount(s.runner)); n != len(sig.Inputs) {
		return fmt.Errorf("tflite: signature %q has %d inputs in the model, the runner has %d", sig.Key, len(sig.Inputs), n)
	}
	if n := int(c.runnerOutputCount(s.runner)); n != len(sig.Outputs) {
		return fmt.Errorf("tflite: signature %q has %d outputs in the model, the runner has %d", sig.Key, len(sig.Outputs), n)
	}
	sg := m.Subgraphs[sig.Subgraph]
	for _, tm := range sig.Inputs {
		t := c.runnerInputTensor(s.runner, tm.Name)
		if t == 0 {
			return fmt.Errorf("tflite: signature %q: the runner has no input %q", sig.Key, tm.Name)
		}
		p, err := s.describe(t, tm.Name, signatureTensor(sg, tm))
		if err != nil {
			return fmt.Errorf("tflite: signature %q input %q: %w", sig.Key, tm.Name, err)
		}
		s.in = append(s.in, p)
	}
	for _, tm := range sig.Outputs {
		t := c.runnerOutputTensor(s.runner, tm.Name)
		if t == 0 {
			return fmt.Errorf("tflite: signature %q: the runner has no output %q", sig.Key, tm.Name)
		}
		p, err := s.describe(t, tm.Name, signatureTensor(sg, tm))
		if err != nil {
			return fmt.Errorf("tflite: signature %q output %q: %w", sig.Key, tm.Name, err)
		}
		s.out = append(s.out, p)
	}
	return nil
}

func signatureTensor(sg *tflite.Subgraph, tm tflite.TensorMap) *tflite.Tensor {
	return tensorAt(sg, []int{tm.Tensor}, 0)
}

// TfLiteType values (c_api_types.h) by our DType.
var tfliteTypes = map[int32]tflite.DType{
	1: tflite.Float32, 2: tflite.Int32, 3: tflite.UInt8, 4: tflite.Int64, 5: tflite.String,
	6: tflite.Bool, 7: tflite.Int16, 8: tflite.Complex64, 9: tflite.Int8, 10: tflite.Float16,
	11: tflite.Float64, 12: tflite.Complex128, 13: tflite.UInt64, 14: tflite.Resource,
	15: tflite.Variant, 16: tflite.UInt32, 17: tflite.UInt16, 18: tflite.Int4, 19: tflite.BFloat16,
}

// describe reads a tensor's metadata. mt, the model's tensor when known,
// supplies per-axis quantization, which the C API does not expose.
func (s *Session) describe(t uintptr, name string, mt *tflite.Tensor) (port, error) {
	c := &s.lib.c
	if t == 0 {
		return port{}, errors.New("the library returned no tensor")
	}
	ct := c.tensorType(t)
	dt, ok := tfliteTypes[ct]
	if !ok {
		return port{}, fmt.Errorf("unknown TfLiteType %d", ct)
	}
	if name == "" {
		name = c.tensorName(t)
	}
	info := backend.TensorInfo{Name: name, Type: dt}
	n := int(c.tensorNumDims(t))
	if n < 0 {
		return port{}, fmt.Errorf("tensor %q has no dimensions set", name)
	}
	for i := range n {
		info.Shape = append(info.Shape, int(c.tensorDim(t, int32(i))))
	}
	if info.Shape == nil {
		info.Shape = []int{}
	}
	if q := c.tensorQuantization(t); q.Scale != 0 {
		info.Scale, info.ZeroPoint = []float32{q.Scale}, []int32{q.ZeroPoint}
	} else if mt != nil && mt.Quant.PerAxis() {
		info.Scale = append([]float32(nil), mt.Quant.Scale...)
		for _, z := range mt.Quant.ZeroPoint {
			info.ZeroPoint = append(info.ZeroPoint, int32(z))
		}
	}
	return port{t: t, info: info, bytes: int(c.tensorByteSize(t))}, nil
}

func infos(ps []port) []backend.TensorInfo {
	out := make([]backend.TensorInfo, len(ps))
	for i, p := range ps {
		out[i] = p.info
		out[i].Shape = append([]int{}, p.info.Shape...)
	}
	return out
}

// Inputs implements backend.Session.
func (s *Session) Inputs() []backend.TensorInfo { return infos(s.in) }

// Outputs implements backend.Session.
func (s *Session) Outputs() []backend.TensorInfo { return infos(s.out) }

// Library is the loaded TFLite library.
func (s *Session) Library() *Library { return s.lib }

// sliceData returns the element type, data pointer and length of a typed
// slice.
func sliceData(v any) (tflite.DType, unsafe.Pointer, int, bool) {
	switch v := v.(type) {
	case []float32:
		return tflite.Float32, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []int8:
		return tflite.Int8, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []uint8:
		return tflite.UInt8, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []int16:
		return tflite.Int16, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []int32:
		return tflite.Int32, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []int64:
		return tflite.Int64, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	case []bool: // Go's bool is one byte, 0 or 1, as C's
		return tflite.Bool, unsafe.Pointer(unsafe.SliceData(v)), len(v), true
	}
	return 0, nil, 0, false
}

func (s *Session) check(ps []port, i int, v any, dir string) (port, unsafe.Pointer, error) {
	if s.closed {
		return port{}, nil, ErrClosed
	}
	if i < 0 || i >= len(ps) {
		return port{}, nil, fmt.Errorf("tflite: %s %d out of range [0,%d)", dir, i, len(ps))
	}
	p := ps[i]
	dt, ptr, n, ok := sliceData(v)
	if !ok {
		return p, nil, fmt.Errorf("tflite: %s %d %q: unsupported data type %T", dir, i, p.info.Name, v)
	}
	if dt != p.info.Type {
		return p, nil, fmt.Errorf("tflite: %s %d %q is %v, got %v data", dir, i, p.info.Name, p.info.Type, dt)
	}
	if n*dt.Size() != p.bytes {
		return p, nil, fmt.Errorf("tflite: %s %d %q %v holds %d elements (%d bytes), got %d", dir, i, p.info.Name, p.info.Shape, p.bytes/max(dt.Size(), 1), p.bytes, n)
	}
	return p, ptr, nil
}

// SetInput implements backend.Session: type and size are checked, then
// the bytes are copied in with TfLiteTensorCopyFromBuffer.
func (s *Session) SetInput(i int, data any) error {
	p, ptr, err := s.check(s.in, i, data, "input")
	if err != nil {
		return err
	}
	var st int32
	s.exec.do(func() { st = s.lib.c.tensorCopyFromBuffer(p.t, ptr, uintptr(p.bytes)) })
	runtime.KeepAlive(data)
	return s.call("TfLiteTensorCopyFromBuffer", fmt.Sprintf("input %d %q", i, p.info.Name), st)
}

// Output implements backend.Session (TfLiteTensorCopyToBuffer).
func (s *Session) Output(i int, dst any) error {
	p, ptr, err := s.check(s.out, i, dst, "output")
	if err != nil {
		return err
	}
	var st int32
	s.exec.do(func() { st = s.lib.c.tensorCopyToBuffer(p.t, ptr, uintptr(p.bytes)) })
	runtime.KeepAlive(dst)
	return s.call("TfLiteTensorCopyToBuffer", fmt.Sprintf("output %d %q", i, p.info.Name), st)
}

// copyIn copies raw bytes into input i without the binding's own checks,
// so that the library's checks answer (tests).
func (s *Session) copyIn(i int, b []byte) error {
	p := s.in[i]
	var st int32
	s.exec.do(func() { st = s.lib.c.tensorCopyFromBuffer(p.t, unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))) })
	runtime.KeepAlive(b)
	if err := s.call("TfLiteTensorCopyFromBuffer", fmt.Sprintf("input %d %q, %d bytes", i, p.info.Name, len(b)), st); err != nil {
		return fmt.Errorf("%w (the tensor holds %d bytes)", err, p.bytes)
	}
	return nil
}

// Invoke implements backend.Session. A cancelled run returns an error
// matching ErrCancelled.
func (s *Session) Invoke() error {
	if s.closed {
		return ErrClosed
	}
	var st int32
	if s.runner != 0 {
		s.exec.do(func() { st = s.lib.c.runnerInvoke(s.runner) })
		return s.call("TfLiteSignatureRunnerInvoke", "", st)
	}
	s.exec.do(func() { st = s.lib.c.invoke(s.ip) })
	return s.call("TfLiteInterpreterInvoke", "", st)
}

// Cancel asks TFLite to stop an Invoke in flight (TfLiteInterpreterCancel);
// that Invoke then returns an error matching ErrCancelled. It may be called
// from any goroutine, and needs Config.Cancellation.
func (s *Session) Cancel() error {
	if !s.cfg.Cancellation {
		return errors.New("tflite: Cancel needs Config.Cancellation")
	}
	if s.closed {
		return ErrClosed
	}
	return s.call("TfLiteInterpreterCancel", "", s.lib.c.cancel(s.ip))
}

// Close implements backend.Session: it deletes the signature runner, the
// interpreter and then the delegates (on the delegate's thread), and only
// then releases the model bytes.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	c := &s.lib.c
	s.exec.do(func() {
		if s.runner != 0 {
			c.runnerDelete(s.runner)
			s.runner = 0
		}
		if s.ip != 0 {
			c.interpreterDelete(s.ip)
			s.ip = 0
		}
		for _, d := range s.delegates {
			d.delete()
		}
		s.delegates = nil
	})
	s.exec.close()
	s.pin.Unpin()
	if s.sink != nil {
		s.sink.close()
	}
	s.model = nil
	return nil
}
