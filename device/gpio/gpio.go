package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// Sentinel errors.
var (
	// ErrConfig: a Trigger or Status field is invalid.
	ErrConfig = errors.New("gpio: invalid configuration")
	// ErrPin: a pin operation failed, or a pin name is unknown.
	ErrPin = errors.New("gpio: pin error")
)

// Event is one accepted trigger edge.
type Event struct {
	Trigger string      // Trigger.Name
	Seq     uint64      // 1, 2, 3... per Trigger
	At      time.Time   // on Trigger.Clock
	Level   pgpio.Level // level read right after the edge
}

// TriggerStats counts edges.
type TriggerStats struct {
	Edges     uint64 // edges reported by the pin
	Events    uint64 // accepted and handed to OnEvent
	Debounced uint64 // within Debounce of the previous event
	Ignored   uint64 // the level read back does not match the edge (a glitch)
}

// Trigger turns edges on an input pin into events: the scanner's "start a
// series" or "acquire" line.
type Trigger struct {
	// Name is carried in events and logs ("series", "acquire").
	Name string
	// Pin is the input (gpio.PinIO or any gpio.PinIn).
	Pin pgpio.PinIn
	// Edge is the edge to react to; NoEdge means RisingEdge.
	Edge pgpio.Edge
	// Pull is the pull resistor to set (PullNoChange leaves it).
	Pull pgpio.Pull
	// Debounce ignores edges within this long of the last event.
	Debounce time.Duration
	// PollTimeout, if positive, makes Run wait for edges in slices of this
	// long so it notices cancellation on drivers whose Halt does not wake
	// WaitForEdge; otherwise Run waits without timeout and calls Pin.Halt
	// on cancellation.
	PollTimeout time.Duration
	// Clock timestamps events and measures Debounce; nil means real time.
	Clock clockwork.Clock
	// OnEvent is called for each accepted edge, synchronously: keep it
	// short (hand work to a goroutine or a channel).
	OnEvent func(ctx context.Context, e Event)
	// Logger receives edge events; nil discards them.
	Logger *slog.Logger

	edges, events, debounced, ignored atomic.Uint64
}

// Run configures the pin as an input with edge detection and delivers
// events until ctx is done, then returns nil. A pin that cannot be set up,
// or that stops reporting edges (halted by someone else), is an ErrPin
// error naming the pin.
func (t *Trigger) Run(ctx context.Context) error {
	if t.Pin == nil {
		return fmt.Errorf("%w: Trigger %q has no Pin", ErrConfig, t.Name)
	}
	if t.OnEvent == nil {
		return fmt.Errorf("%w: Trigger %q has no OnEvent", ErrConfig, t.Name)
	}
	if t.Debounce < 0 {
		return fmt.Errorf("%w: Trigger %q has a negative Debounce", ErrConfig, t.Name)
	}
	edge := t.Edge
	if edge == pgpio.NoEdge {
		edge = pgpio.RisingEdge
	}
	clock := t.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := t.Pin.In(t.Pull, edge); err != nil {
		return fmt.Errorf("%w: setting %s (%s) as input with %s: %v", ErrPin, t.Pin, t.Name, edge, err)
	}
	timeout := time.Duration(-1)
	if t.PollTimeout > 0 {
		timeout = t.PollTimeout
	} else {
		stop := context.AfterFunc(ctx, func() { _ = t.Pin.Halt() })
		defer stop()
	}
	var seq uint64
	var last time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		got := t.Pin.WaitForEdge(timeout)
		if ctx.Err() != nil {
			return nil
		}
		if !got {
			if timeout > 0 {
				continue
			}
			return fmt.Errorf("%w: %s (%s) stopped reporting edges", ErrPin, t.Pin, t.Name)
		}
		t.edges.Add(1)
		level := t.Pin.Read()
		if (edge == pgpio.RisingEdge && level == pgpio.Low) || (edge == pgpio.FallingEdge && level == pgpio.High) {
			t.ignored.Add(1)
			log.Debug("gpio: edge ignored, level does not match", "trigger", t.Name, "pin", t.Pin.String(), "level", level.String())
			continue
		}
		now := clock.Now()
		if seq > 0 && now.Sub(last) < t.Debounce {
			t.debounced.Add(1)
			log.Debug("gpio: edge debounced", "trigger", t.Name, "pin", t.Pin.String(), "since_last", now.Sub(last))
			continue
		}
		seq++
		last = now
		t.events.Add(1)
		log.Info("gpio: trigger", "trigger", t.Name, "pin", t.Pin.String(), "seq", seq, "level", level.String())
		t.OnEvent(ctx, Event{Trigger: t.Name, Seq: seq, At: now, Level: level})
	}
}

// Stats returns the trigger's counters.
func (t *Trigger) Stats() TriggerStats {
	return TriggerStats{Edges: t.edges.Load(), Events: t.events.Load(), Debounced: t.debounced.Load(), Ignored: t.ignored.Load()}
}

// Status drives the busy and ready output lines. Either pin may be nil.
// With ActiveLow, "on" drives the line low.
type Status struct {
	Busy      pgpio.PinOut
	Ready     pgpio.PinOut
	ActiveLow bool
}

func (s *Status) set(p pgpio.PinOut, what string, on bool) error {
	if p == nil {
		return nil
	}
	l := pgpio.Level(on != s.ActiveLow)
	if err := p.Out(l); err != nil {
		return fmt.Errorf("%w: driving %s pin %s %s: %v", ErrPin, what, p, l, err)
	}
	return nil
}

// Init drives both lines off (not busy, not ready).
func (s *Status) Init() error {
	return errors.Join(s.set(s.Busy, "busy", false), s.set(s.Ready, "ready", false))
}

// SetBusy drives the busy line.
func (s *Status) SetBusy(on bool) error { return s.set(s.Busy, "busy", on) }

// SetReady drives the ready line.
func (s *Status) SetReady(on bool) error { return s.set(s.Ready, "ready", on) }

// Resolve looks pins up by name ("GPIO17", or a board alias such as
// "P1_11") in periph's registry. Real boards register their pins when the
// program calls host.Init() from periph.io/x/host/v3 (the board profile);
// tests register gpiotest pins with gpioreg.Register. Every unknown name
// is reported.
func Resolve(names ...string) ([]pgpio.PinIO, error) {
	pins := make([]pgpio.PinIO, len(names))
	var errs []error
	for i, n := range names {
		if pins[i] = gpioreg.ByName(n); pins[i] == nil {
			errs = append(errs, fmt.Errorf("%w: no pin named %q (is host.Init() called, and is it in the board profile?)", ErrPin, n))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pins, nil
}
