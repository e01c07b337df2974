package ring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Policy says what Put does when every slot is taken.
type Policy int

const (
	// Block makes Put wait for a free slot: backpressure reaches the
	// producer (and through a blocked DIMSE Handler, the sender).
	Block Policy = iota
	// DropOldest drops the oldest queued slice (counted in Stats.Dropped and
	// logged) and reuses its slot. Put waits only if every slot is held by
	// a worker, which ends as soon as one is released.
	DropOldest
	// Spill writes the slice to the spill directory (atomically: temporary
	// file, fsync, rename), counted in Stats.Spilled, and re-ingests spilled
	// slices oldest first as slots free (Stats.Unspilled). While anything
	// is spilled, new slices spill too, so arrival order is kept.
	Spill
)

func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case DropOldest:
		return "drop-oldest"
	case Spill:
		return "spill"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses "block", "drop-oldest" or "spill".
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{Block, DropOldest, Spill} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown policy %q (want block, drop-oldest or spill)", ErrConfig, s)
}

// Format says how a slice's bytes are encoded.
type Format uint8

const (
	// DataSet is a bare data set (as received by C-STORE) encoded in
	// Meta.TransferSyntaxUID.
	DataSet Format = iota
	// File is a DICOM Part 10 file (with its own File Meta Information).
	File
)

// Meta describes a slice.
type Meta struct {
	Source            string // producer: "dimse:CONSOLE", "folder:/data/in"
	Format            Format
	Name              string // file name, or anything that identifies it in logs
	SOPClassUID       string
	SOPInstanceUID    string
	TransferSyntaxUID string
	// Seq is assigned by Put: 1, 2, 3... in order of arrival (spilled
	// slices recovered at New keep theirs).
	Seq uint64
}

// Slice is a slot handed to a worker by Next. Data aliases the slot's
// preallocated buffer and is valid until Release.
type Slice struct {
	Meta Meta
	Data []byte

	buf   []byte
	idx   int32
	state atomic.Int32
}

const (
	slotFree int32 = iota
	slotQueued
	slotInFlight
)

// Stats are the ring's counters. At any time
//
//	Received = Processed + Dropped + Queued + InFlight + Backlog
//
// (Backlog: spilled slices not yet re-ingested), so after Close and a full
// drain, Received = Processed + Dropped.
type Stats struct {
	Received  uint64 // slices accepted by Put (and spilled slices recovered by New)
	Processed uint64 // slices released by a worker
	Dropped   uint64 // DropOldest drops, and spilled slices found unreadable
	Spilled   uint64 // slices written to the spill directory
	Unspilled uint64 // spilled slices read back into a slot
	Blocked   uint64 // Puts that had to wait for a slot
	Queued    int    // slices waiting for a worker
	InFlight  int    // slices held by workers
	Backlog   int    // spilled slices waiting for a slot
	HighWater int    // most slots ever in use at once (queued + in flight)
}

// Ring is a fixed-capacity queue of preallocated slots shared by any
// number of producers (Put) and workers (Next/Release). In steady state it
// allocates nothing per slice.
type Ring struct {
	policy    Policy
	slotBytes int
	slots     []Slice
	free      chan int32
	queue     chan int32
	stopPut   chan struct{} // closed when Close starts: wakes blocked Puts
	done      chan struct{} // closed when Close has let every Put finish
	log       *slog.Logger

	mu      sync.Mutex // closing, puts.Add, spill backlog, spill-mode slot moves
	closing bool
	puts    sync.WaitGroup
	backlog []string // spill file names, oldest first
	dir     string

	seq       atomic.Uint64
	received  atomic.Uint64
	processed atomic.Uint64
	dropped   atomic.Uint64
	spilled   atomic.Uint64
	unspilled atomic.Uint64
	blocked   atomic.Uint64
	inFlight  atomic.Int64
	used      atomic.Int64
	highWater atomic.Int64
}

// Option configures New.
type Option func(*Ring)

// WithSpillDir sets the spill directory (required with Spill; created if
// missing). Spilled slices left there by an earlier process are recovered
// by New and processed first.
func WithSpillDir(dir string) Option { return func(r *Ring) { r.dir = dir } }

// WithLogger sets the logger for drops, spills and recoveries.
func WithLogger(l *slog.Logger) Option { return func(r *Ring) { r.log = l } }

// MaxSlotBytes bounds slotBytes (1 GiB).
const MaxSlotBytes = 1 << 30

// New makes a ring of capacity slots of slotBytes each, all allocated now.
func New(capacity, slotBytes int, policy Policy, opts ...Option) (*Ring, error) {
	if capacity < 1 || capacity > 1<<20 {
		return nil, fmt.Errorf("%w: capacity %d outside 1..%d", ErrConfig, capacity, 1<<20)
	}
	if slotBytes < 1 || slotBytes > MaxSlotBytes {
		return nil, fmt.Errorf("%w: slot size %d outside 1..%d", ErrConfig, slotBytes, MaxSlotBytes)
	}
	if policy < Block || policy > Spill {
		return nil, fmt.Errorf("%w: unknown policy %d", ErrConfig, int(policy))
	}
	r := &Ring{
		policy:    policy,
		slotBytes: slotBytes,
		slots:     make([]Slice, capacity),
		free:      make(chan int32, capacity),
		queue:     make(chan int32, capacity),
		stopPut:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	backing := make([]byte, capacity*slotBytes)
	for i := range r.slots {
		r.slots[i].idx = int32(i)
		r.slots[i].buf = backing[i*slotBytes : (i+1)*slotBytes : (i+1)*slotBytes]
		r.free <- int32(i)
	}
	if policy == Spill {
		if r.dir == "" {
			return nil, fmt.Errorf("%w: the spill policy needs WithSpillDir", ErrConfig)
		}
		if err := r.recover(); err != nil {
			return nil, err
		}
	} else if r.dir != "" {
		return nil, fmt.Errorf("%w: WithSpillDir given with policy %s", ErrConfig, policy)
	}
	return r, nil
}

// recover creates the spill directory, removes temporary files an
// interrupted spill left, and queues spilled slices from an earlier run.
func (r *Ring) recover() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("%w: spill directory: %v", ErrSpill, err)
	}
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return fmt.Errorf("%w: spill directory: %v", ErrSpill, err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".spill-") && strings.HasSuffix(n, ".tmp"):
			os.Remove(filepath.Join(r.dir, n))
			r.log.Warn("ring: removed an interrupted spill", "file", n)
		case strings.HasSuffix(n, spillExt) && e.Type().IsRegular():
			names = append(names, n)
		}
	}
	sort.Strings(names) // zero-padded sequence numbers: oldest first
	var maxSeq uint64
	for _, n := range names {
		var seq uint64
		if _, err := fmt.Sscanf(n, "%d"+spillExt, &seq); err == nil && seq > maxSeq {
			maxSeq = seq
		}
	}
	r.seq.Store(maxSeq)
	if len(names) == 0 {
		return nil
	}
	r.log.Info("ring: recovering spilled slices", "dir", r.dir, "count", len(names))
	r.received.Add(uint64(len(names)))
	r.spilled.Add(uint64(len(names)))
	r.backlog = names
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.backlog) > 0 {
		select {
		case idx := <-r.free:
			r.take()
			if !r.unspillInto(idx) {
				r.give(idx)
			}
		default:
			return nil
		}
	}
	return nil
}

// Put copies data into a slot and queues it. It returns ErrClosed after
// Close, a *TooLargeError if data exceeds the slot size, ctx.Err() if ctx
// ends while Block waits, and an ErrSpill error if a spill cannot be
// written. A Put that returns an error did not take the slice.
func (r *Ring) Put(ctx context.Context, meta Meta, data []byte) error {
	if len(data) > r.slotBytes {
		return &TooLargeError{Size: len(data), Max: r.slotBytes, Name: meta.Name}
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return ErrClosed
	}
	r.puts.Add(1)
	r.mu.Unlock()
	defer r.puts.Done()

	switch r.policy {
	case DropOldest:
		select {
		case idx := <-r.free:
			r.take()
			r.fill(idx, meta, data)
			return nil
		default:
		}
		select {
		case idx := <-r.queue:
			r.drop(idx)
			r.fill(idx, meta, data)
			return nil
		default:
		}
	case Spill:
		r.mu.Lock()
		if len(r.backlog) == 0 {
			select {
			case idx := <-r.free:
				r.take()
				r.mu.Unlock()
				r.fill(idx, meta, data)
				return nil
			default:
			}
		}
		defer r.mu.Unlock()
		return r.spill(meta, data)
	}
	idx, err := r.waitFree(ctx)
	if err != nil {
		return err
	}
	r.fill(idx, meta, data)
	return nil
}

func (r *Ring) waitFree(ctx context.Context) (int32, error) {
	select {
	case idx := <-r.free:
		r.take()
		return idx, nil
	default:
	}
	r.blocked.Add(1)
	select {
	case idx := <-r.free:
		r.take()
		return idx, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-r.stopPut:
		return 0, ErrClosed
	}
}

// take and give track slots in use.
func (r *Ring) take() {
	u := r.used.Add(1)
	for {
		h := r.highWater.Load()
		if u <= h || r.highWater.CompareAndSwap(h, u) {
			return
		}
	}
}

func (r *Ring) give(idx int32) {
	r.slots[idx].state.Store(slotFree)
	r.used.Add(-1)
	r.free <- idx
}

func (r *Ring) fill(idx int32, meta Meta, data []byte) {
	s := &r.slots[idx]
	s.Meta = meta
	s.Meta.Seq = r.seq.Add(1)
	s.Data = s.buf[:len(data)]
	copy(s.Data, data)
	r.received.Add(1)
	s.state.Store(slotQueued)
	r.queue <- idx // never blocks: the queue holds every slot
}

func (r *Ring) drop(idx int32) {
	s := &r.slots[idx]
	r.dropped.Add(1)
	r.log.Warn("ring: dropped the oldest queued slice", "source", s.Meta.Source, "seq", s.Meta.Seq,
		"name", s.Meta.Name, "sop_instance", s.Meta.SOPInstanceUID, "dropped_total", r.dropped.Load())
}

// Next returns the oldest queued slice, waiting for one if needed. After
// Close it keeps returning queued (and spilled) slices, then ErrClosed
// once none is left. It returns ctx.Err() if ctx ends first.
func (r *Ring) Next(ctx context.Context) (*Slice, error) {
	select {
	case idx := <-r.queue:
		return r.deliver(idx), nil
	default:
	}
	select {
	case idx := <-r.queue:
		return r.deliver(idx), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done:
	}
	for {
		select {
		case idx := <-r.queue:
			return r.deliver(idx), nil
		default:
		}
		r.mu.Lock()
		pending := len(r.backlog)
		r.mu.Unlock()
		if pending == 0 {
			// Anything moved out of the backlog was queued under r.mu.
			select {
			case idx := <-r.queue:
				return r.deliver(idx), nil
			default:
				return nil, ErrClosed
			}
		}
		// Spilled slices remain, so every slot is held by a worker: the
		// next Release queues one.
		select {
		case idx := <-r.queue:
			return r.deliver(idx), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (r *Ring) deliver(idx int32) *Slice {
	s := &r.slots[idx]
	s.state.Store(slotInFlight)
	r.inFlight.Add(1)
	return s
}

// Release returns a slice's slot after processing (counted in Processed).
// Releasing a slice twice, or one not from this ring, is an error.
func (r *Ring) Release(s *Slice) error {
	if s == nil || s.idx < 0 || int(s.idx) >= len(r.slots) || &r.slots[s.idx] != s {
		return fmt.Errorf("%w: not a slice of this ring", ErrRelease)
	}
	if !s.state.CompareAndSwap(slotInFlight, slotFree) {
		return fmt.Errorf("%w: slice %d (%s) is not held by a worker", ErrRelease, s.Meta.Seq, s.Meta.Name)
	}
	r.processed.Add(1)
	r.inFlight.Add(-1)
	if r.policy != Spill {
		r.used.Add(-1)
		r.free <- s.idx
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.unspillInto(s.idx) {
		r.used.Add(-1)
		r.free <- s.idx
	}
	return nil
}

// Close stops Put (blocked Puts return ErrClosed) and lets workers drain
// what is queued and spilled; Next returns ErrClosed when all is done.
// Close is idempotent.
func (r *Ring) Close() error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil
	}
	r.closing = true
	close(r.stopPut)
	r.mu.Unlock()
	r.puts.Wait()
	close(r.done)
	return nil
}

// Stats returns a snapshot of the counters.
func (r *Ring) Stats() Stats {
	r.mu.Lock()
	backlog := len(r.backlog)
	r.mu.Unlock()
	return Stats{
		Received:  r.received.Load(),
		Processed: r.processed.Load(),
		Dropped:   r.dropped.Load(),
		Spilled:   r.spilled.Load(),
		Unspilled: r.unspilled.Load(),
		Blocked:   r.blocked.Load(),
		Queued:    len(r.queue),
		InFlight:  int(r.inFlight.Load()),
		Backlog:   backlog,
		HighWater: int(r.highWater.Load()),
	}
}

// Capacity returns the number of slots; SlotBytes their size.
func (r *Ring) Capacity() int { return len(r.slots) }

// SlotBytes returns the size of each slot.
func (r *Ring) SlotBytes() int { return r.slotBytes }

// Policy returns the ring's policy.
func (r *Ring) Policy() Policy { return r.policy }
