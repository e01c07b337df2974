package gpio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// inPin tells when In has been called: gpiotest's In drains EdgesChan, so
// edges sent before it would be lost.
type inPin struct {
	*gpiotest.Pin
	configured chan struct{}
}

func newInPin(p *gpiotest.Pin) *inPin { return &inPin{p, make(chan struct{})} }

func (p *inPin) In(pull pgpio.Pull, edge pgpio.Edge) error {
	defer close(p.configured)
	return p.Pin.In(pull, edge)
}

func TestTriggerEdgesAndDebounce(t *testing.T) {
	clock := clockwork.NewFakeClock()
	edges := make(chan pgpio.Level)
	pin := newInPin(&gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: edges, Clock: clock})
	events := make(chan Event, 10)
	tr := &Trigger{
		Name: "series", Pin: pin, Pull: pgpio.PullDown, Debounce: 50 * time.Millisecond, Clock: clock,
		OnEvent: func(ctx context.Context, e Event) { events <- e },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	<-pin.configured

	edges <- pgpio.High // accepted
	if e := <-events; e.Seq != 1 || e.Trigger != "series" || e.Level != pgpio.High || !e.At.Equal(clock.Now()) {
		t.Errorf("event %+v", e)
	}
	edges <- pgpio.High // a bounce: same instant on the clock
	// A Low on a rising-edge trigger is always ignored; sending it also
	// proves the bounce above has been handled (the loop is waiting again).
	edges <- pgpio.Low
	clock.Advance(50 * time.Millisecond)
	edges <- pgpio.High // debounce interval over: accepted
	if e := <-events; e.Seq != 2 || !e.At.Equal(clock.Now()) {
		t.Errorf("event %+v", e)
	}
	cancel()
	close(edges) // gpiotest's WaitForEdge(-1) only returns on an edge
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := tr.Stats(); st != (TriggerStats{Edges: 4, Events: 2, Debounced: 1, Ignored: 1}) {
		t.Errorf("stats %+v", st)
	}
	if pin.Pull() != pgpio.PullDown {
		t.Errorf("pull %s", pin.Pull())
	}
	select {
	case e := <-events:
		t.Errorf("unexpected event %+v", e)
	default:
	}
}

func TestTriggerFallingEdge(t *testing.T) {
	edges := make(chan pgpio.Level)
	pin := newInPin(&gpiotest.Pin{N: "GPIO27", EdgesChan: edges})
	events := make(chan Event, 10)
	tr := &Trigger{Name: "acquire", Pin: pin, Edge: pgpio.FallingEdge, Pull: pgpio.PullUp, OnEvent: func(ctx context.Context, e Event) { events <- e }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	<-pin.configured
	edges <- pgpio.High // ignored
	edges <- pgpio.Low
	if e := <-events; e.Level != pgpio.Low || e.Seq != 1 {
		t.Errorf("event %+v", e)
	}
	cancel()
	close(edges)
	<-done
}

func TestTriggerPollTimeout(t *testing.T) {
	// With PollTimeout, Run notices cancellation at the next timeout even
	// if the driver's Halt does not wake WaitForEdge.
	clock := clockwork.NewFakeClock()
	pin := &gpiotest.Pin{N: "GPIO5", EdgesChan: make(chan pgpio.Level), Clock: clock}
	tr := &Trigger{Name: "series", Pin: pin, PollTimeout: 100 * time.Millisecond, OnEvent: func(context.Context, Event) {}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(100 * time.Millisecond) // a timeout: Run waits again
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	clock.Advance(100 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestTriggerErrors(t *testing.T) {
	ctx := context.Background()
	noop := func(context.Context, Event) {}
	for _, tc := range []struct {
		tr   *Trigger
		want error
		msg  string
	}{
		{&Trigger{Name: "x", OnEvent: noop}, ErrConfig, `Trigger "x" has no Pin`},
		{&Trigger{Name: "x", Pin: &gpiotest.Pin{}}, ErrConfig, "has no OnEvent"},
		{&Trigger{Name: "x", Pin: &gpiotest.Pin{}, OnEvent: noop, Debounce: -1}, ErrConfig, "negative Debounce"},
		// gpiotest refuses edge detection without an EdgesChan.
		{&Trigger{Name: "series", Pin: &gpiotest.Pin{N: "GPIO4", Num: 4}, OnEvent: noop}, ErrPin, "setting GPIO4(4) (series) as input with RisingEdge"},
	} {
		err := tc.tr.Run(ctx)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Run: %v, want %q", err, tc.msg)
		}
	}
}

func TestStatus(t *testing.T) {
	busy := &gpiotest.Pin{N: "GPIO22", L: pgpio.High}
	ready := &gpiotest.Pin{N: "GPIO23", L: pgpio.High}
	s := &Status{Busy: busy, Ready: ready}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	if busy.Read() != pgpio.Low || ready.Read() != pgpio.Low {
		t.Error("Init left a line on")
	}
	s.SetReady(true)
	s.SetBusy(true)
	if busy.Read() != pgpio.High || ready.Read() != pgpio.High {
		t.Error("lines not driven high")
	}
	s.SetBusy(false)
	if busy.Read() != pgpio.Low || ready.Read() != pgpio.High {
		t.Error("busy not cleared")
	}
	low := &Status{Busy: busy, ActiveLow: true} // no ready line
	low.SetBusy(true)
	if busy.Read() != pgpio.Low {
		t.Error("active-low busy not driven low")
	}
	if err := low.SetReady(true); err != nil {
		t.Errorf("nil ready pin: %v", err)
	}
}

func TestResolve(t *testing.T) {
	a := &gpiotest.Pin{N: "LSMS_TEST_TRIGGER", Num: 900}
	b := &gpiotest.Pin{N: "LSMS_TEST_BUSY", Num: 901}
	for _, p := range []*gpiotest.Pin{a, b} {
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gpioreg.Unregister(p.N) })
	}
	pins, err := Resolve("LSMS_TEST_TRIGGER", "LSMS_TEST_BUSY")
	if err != nil || pins[0] != a || pins[1] != b {
		t.Fatalf("Resolve: %v %v", pins, err)
	}
	_, err = Resolve("LSMS_TEST_BUSY", "NO_SUCH_PIN", "NOR_THIS")
	if !errors.Is(err, ErrPin) || !strings.Contains(err.Error(), `"NO_SUCH_PIN"`) || !strings.Contains(err.Error(), `"NOR_THIS"`) {
		t.Errorf("Resolve of unknown pins: %v", err)
	}
}
