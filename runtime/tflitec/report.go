package tflitec

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The TFLite error reporter is a C function
//
//	void reporter(void* user_data, const char* format, va_list args);
//
// One purego callback serves every session (callbacks are a finite
// resource); user_data is not a pointer but the id of a sink that collects
// the messages of one model or interpreter. The message is formatted by the
// C library's vsnprintf, which takes the va_list as the reporter received it
// (a pointer on amd64, and on arm64, where the 32-byte va_list is passed by
// reference, a pointer to the caller's copy).

var (
	callbacksOnce sync.Once
	reporterFn    uintptr // C pointer of reporterTrampoline
	pluginFn      uintptr // C pointer of pluginReportTrampoline
	vsnprintf     func(buf unsafe.Pointer, size uintptr, format *byte, args uintptr) int32

	sinks   sync.Map // uintptr -> *sink
	sinkSeq atomic.Uintptr

	// Plugin creation has no user data: one at a time.
	pluginMu   sync.Mutex
	pluginMsgs []string
)

// maxMessage bounds one formatted message.
const maxMessage = 2048

func setupCallbacks() {
	callbacksOnce.Do(func() {
		reporterFn = purego.NewCallback(reporterTrampoline)
		pluginFn = purego.NewCallback(pluginReportTrampoline)
		for _, name := range libcNames() {
			h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
			if err != nil {
				continue
			}
			if p, err := purego.Dlsym(h, "vsnprintf"); err == nil {
				purego.RegisterFunc(&vsnprintf, p)
				return
			}
		}
	})
}

func libcNames() []string {
	switch runtime.GOOS {
	case "darwin", "ios":
		return []string{"/usr/lib/libSystem.B.dylib"}
	case "android":
		return []string{"libc.so"}
	}
	return []string{"libc.so.6", "libc.so"}
}

// sink collects reporter messages.
type sink struct {
	id   uintptr
	mu   sync.Mutex
	msgs []string
}

func newSink() *sink {
	s := &sink{id: sinkSeq.Add(1)}
	sinks.Store(s.id, s)
	return s
}

func (s *sink) close() { sinks.Delete(s.id) }

func (s *sink) add(m string) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

// take returns and clears the messages.
func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

func reporterTrampoline(userData uintptr, format *byte, args uintptr) {
	v, ok := sinks.Load(userData)
	if !ok {
		return
	}
	v.(*sink).add(formatMessage(format, args))
}

func formatMessage(format *byte, args uintptr) string {
	if format == nil {
		return ""
	}
	if vsnprintf == nil {
		return cString(format, maxMessage)
	}
	var buf [maxMessage]byte
	n := vsnprintf(unsafe.Pointer(&buf[0]), uintptr(len(buf)), format, args)
	switch {
	case n < 0:
		return cString(format, maxMessage)
	case int(n) >= len(buf):
		return string(buf[:len(buf)-1]) + "…"
	}
	return strings.TrimRight(string(buf[:n]), "\n")
}

func pluginReportTrampoline(msg *byte) {
	pluginMsgs = append(pluginMsgs, cString(msg, maxMessage))
}

// cString copies a NUL-terminated C string of at most max bytes.
func cString(p *byte, max int) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := range max {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
