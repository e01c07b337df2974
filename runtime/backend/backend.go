// Package backend defines what every inference backend offers: load a
// model, then a session with inputs, outputs, Invoke and (optionally)
// per-operator timings. The pure-Go interpreter (runtime/interp) is the
// default backend; others (the TFLite C library) register under their own
// names.
package backend

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lsms-edge/lsms/tflite"
)

// TensorInfo describes a session input or output.
type TensorInfo struct {
	Name      string
	Type      tflite.DType
	Shape     []int
	Scale     []float32
	ZeroPoint []int32
}

// Options configure a session.
type Options struct {
	// Threads for kernels; 0 means 1.
	Threads int
	// Profile records per-operator timings (see Profiler).
	Profile bool
	// Planner is "greedy" (default) or "linear" (every tensor kept, none
	// fused away; for debugging and calibration, which read intermediate
	// tensors).
	Planner string
	// Signature selects a signature def by key; empty means subgraph 0.
	Signature string
	// Flatbuffer, when the caller has it, is the serialized model the
	// *tflite.Model was read from (tflite.File.Bytes: memory-mapped).
	// Backends that load the flatbuffer themselves (the TFLite C library)
	// use it as is instead of serialising the model again; it must stay
	// alive and unmodified until the session is closed. Others ignore it.
	Flatbuffer []byte
}

// Session runs one loaded model. It is not safe for concurrent use.
type Session interface {
	Inputs() []TensorInfo
	Outputs() []TensorInfo
	// SetInput copies data (a typed slice: []float32, []int8, []int32,
	// []uint8, []int64, []int16, []bool) into input i.
	SetInput(i int, data any) error
	// Output copies output i into dst, a typed slice of the right length.
	Output(i int, dst any) error
	Invoke() error
	Close() error
}

// OpProfile is the time spent in one operator.
type OpProfile struct {
	Index int
	Op    string
	// Last is the duration in the most recent Invoke, Total the sum over
	// Count invokes since the session started or was reset.
	Last, Total time.Duration
	Count       int
}

// Profiler is implemented by sessions opened with Options.Profile.
type Profiler interface {
	Profile() []OpProfile
	ResetProfile()
}

// MemoryReporter is implemented by sessions that can say how much memory
// their tensors take.
type MemoryReporter interface {
	// ArenaBytes is the planned arena for run-time tensors and scratch.
	ArenaBytes() int
}

// Backend loads models.
type Backend interface {
	Name() string
	// Open prepares a session for a model. Unsupported operators or types
	// are reported here, never at Invoke.
	Open(m *tflite.Model, opts Options) (Session, error)
}

// ErrNoBackend is returned by Get for unknown names.
var ErrNoBackend = errors.New("no such backend")

var (
	mu       sync.Mutex
	backends = map[string]Backend{}
)

// Register makes a backend available by name.
func Register(b Backend) {
	mu.Lock()
	defer mu.Unlock()
	backends[b.Name()] = b
}

// Get returns a registered backend.
func Get(name string) (Backend, error) {
	mu.Lock()
	defer mu.Unlock()
	if b, ok := backends[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w %q (have %v)", ErrNoBackend, name, namesLocked())
}

// Names lists the registered backends.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	return namesLocked()
}

func namesLocked() []string {
	var out []string
	for n := range backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
