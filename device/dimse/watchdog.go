package dimse

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

var (
	errIdleTimeout = errors.New("idle timeout")
	errShutdown    = errors.New("server shutting down")
)

// aLongTimeAgo is a deadline in the past: setting it makes blocked I/O on a
// net.Conn return at once.
var aLongTimeAgo = time.Unix(1, 0)

// watchdog turns the idle timeout (measured on an injected clock) and
// server shutdown into deadlines on the connection. It is armed only while
// the association waits on the peer (reading a PDU or writing one), never
// while the Handler runs, so a slow Handler (backpressure) is not "idle".
// Shutdown interrupts reads only: a response being written still goes out.
type watchdog struct {
	conn  net.Conn
	clock clockwork.Clock
	idle  time.Duration

	mu      sync.Mutex
	armed   bool
	reading bool
	gen     uint64
	timer   clockwork.Timer
	cause   error
}

func newWatchdog(conn net.Conn, clock clockwork.Clock, idle time.Duration) *watchdog {
	return &watchdog{conn: conn, clock: clock, idle: idle}
}

// arm starts the idle timer before I/O. A read is refused once the
// association has been told to stop.
func (w *watchdog) arm(reading bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cause != nil && (reading || w.cause == errIdleTimeout) {
		return w.cause
	}
	w.armed, w.reading = true, reading
	w.gen++
	if w.idle > 0 {
		g := w.gen
		w.timer = w.clock.AfterFunc(w.idle, func() { w.expire(g) })
	}
	return nil
}

// disarm stops the idle timer after I/O.
func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.reading = false, false
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

func (w *watchdog) expire(gen uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen || !w.armed || w.cause != nil {
		return
	}
	w.cause = errIdleTimeout
	_ = w.conn.SetDeadline(aLongTimeAgo)
}

// shutdown asks the association to stop at the next PDU boundary.
func (w *watchdog) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cause == nil {
		w.cause = errShutdown
	}
	if w.armed && w.reading {
		_ = w.conn.SetDeadline(aLongTimeAgo)
	}
}

func (w *watchdog) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cause
}
