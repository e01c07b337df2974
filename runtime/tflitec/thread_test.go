package tflitec

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var readFile = os.ReadFile

// fakeGPU stands for a GPU delegate: it remembers the thread it was created
// on and fails when invoked or deleted on another.
type fakeGPU struct {
	created int
	bad     []string
}

func (g *fakeGPU) create()  { g.created = threadID() }
func (g *fakeGPU) invoke()  { g.check("invoke") }
func (g *fakeGPU) destroy() { g.check("delete") }
func (g *fakeGPU) check(what string) {
	if id := threadID(); id != g.created {
		g.bad = append(g.bad, what)
	}
}

func TestLockedThread(t *testing.T) {
	if threadID() == 0 {
		t.Skip("no thread id on " + runtime.GOOS)
	}
	ex := newLockedThread()
	g := &fakeGPU{}
	ex.do(g.create)
	// From many goroutines, each locked to a thread of its own.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 20 {
				ex.do(g.invoke)
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	ex.do(g.destroy)
	ex.close()
	if len(g.bad) > 0 {
		t.Fatalf("off the delegate's thread: %v", g.bad)
	}
	// The same fake, called inline from a goroutine on another thread, does
	// notice (the check is real): this goroutine keeps its thread locked, so
	// the other one cannot run on it.
	g2 := &fakeGPU{}
	runtime.LockOSThread()
	g2.create()
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		inline{}.do(g2.invoke)
		close(done)
	}()
	<-done
	runtime.UnlockOSThread()
	if len(g2.bad) == 0 {
		t.Error("the fake did not notice a call from another thread")
	}
}

func TestLockedThreadPanic(t *testing.T) {
	ex := newLockedThread()
	defer ex.close()
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "boom") {
			t.Errorf("recovered %v, want the panic from the delegate thread", p)
		}
		// The thread still serves.
		ok := false
		ex.do(func() { ok = true })
		if !ok {
			t.Error("the thread stopped after a panic")
		}
	}()
	ex.do(func() { panic("boom") })
}
