package tflitec

import (
	"fmt"
	"runtime"
)

// executor runs the C calls of one session. The GPU delegate keeps
// thread-local state (an OpenCL queue or a current EGL context): it must be
// created, applied, invoked and deleted on one OS thread, so sessions with it
// run every call on a dedicated goroutine locked to its thread. Other
// sessions call inline.
type executor interface {
	do(f func())
	close()
}

type inline struct{}

func (inline) do(f func()) { f() }
func (inline) close()      {}

// lockedThread runs functions, one at a time, on one goroutine that holds
// its OS thread for life (runtime.LockOSThread, never unlocked: when the
// goroutine ends, the thread ends with it and takes any thread-local GPU
// state along).
type lockedThread struct {
	work chan func()
	done chan any // nil, or the value a function panicked with
	quit chan struct{}
}

func newLockedThread() *lockedThread {
	t := &lockedThread{work: make(chan func()), done: make(chan any), quit: make(chan struct{})}
	started := make(chan struct{})
	go t.loop(started)
	<-started
	return t
}

func (t *lockedThread) loop(started chan<- struct{}) {
	runtime.LockOSThread()
	close(started)
	for {
		select {
		case f := <-t.work:
			t.done <- run(f)
		case <-t.quit:
			return
		}
	}
}

func run(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// do runs f on the locked thread and waits. A panic in f is raised again in
// the caller.
func (t *lockedThread) do(f func()) {
	t.work <- f
	if p := <-t.done; p != nil {
		panic(fmt.Sprintf("tflite: on the delegate thread: %v", p))
	}
}

// close ends the goroutine and its thread; do must not be called after.
func (t *lockedThread) close() { close(t.quit) }
