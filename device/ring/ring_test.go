package ring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func meta(i int) Meta {
	return Meta{Source: "test", Name: fmt.Sprint("slice-", i), SOPInstanceUID: fmt.Sprint("1.2.", i), TransferSyntaxUID: "1.2.840.10008.1.2.1"}
}

func payload(i int) []byte { return []byte(fmt.Sprintf("payload %d", i)) }

func mustNew(t testing.TB, capacity, slot int, p Policy, opts ...Option) *Ring {
	t.Helper()
	r, err := New(capacity, slot, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFIFO(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Policy{Block, DropOldest, Spill} {
		t.Run(p.String(), func(t *testing.T) {
			var opts []Option
			if p == Spill {
				opts = append(opts, WithSpillDir(t.TempDir()))
			}
			r := mustNew(t, 4, 64, p, opts...)
			for i := 1; i <= 3; i++ {
				if err := r.Put(ctx, meta(i), payload(i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= 3; i++ {
				s, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := meta(i)
				want.Seq = uint64(i)
				if s.Meta != want || !bytes.Equal(s.Data, payload(i)) {
					t.Errorf("got %+v %q", s.Meta, s.Data)
				}
				if err := r.Release(s); err != nil {
					t.Fatal(err)
				}
			}
			st := r.Stats()
			if st.Received != 3 || st.Processed != 3 || st.Queued != 0 || st.InFlight != 0 || st.HighWater != 3 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestPutErrors(t *testing.T) {
	ctx := context.Background()
	r := mustNew(t, 1, 8, Block)
	err := r.Put(ctx, Meta{Name: "big"}, make([]byte, 9))
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || tl.Size != 9 || tl.Max != 8 {
		t.Errorf("oversized: %v", err)
	}
	if err.Error() != `ring: slice "big" of 9 bytes exceeds the slot size of 8` {
		t.Errorf("message %q", err)
	}
	if err := r.Put(ctx, Meta{}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	// Full: a Block Put waits, until its context ends...
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Put(cctx, Meta{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Put on a full ring with a cancelled context: %v", err)
	}
	// ...or the ring closes.
	res := make(chan error)
	go func() { res <- r.Put(ctx, Meta{}, nil) }()
	for r.Stats().Blocked < 2 {
		runtime.Gosched()
	}
	r.Close()
	if err := <-res; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Put at Close: %v", err)
	}
	if err := r.Put(ctx, Meta{}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	// The queued slice is still delivered, then ErrClosed.
	s, err := r.Next(ctx)
	if err != nil || len(s.Data) != 8 {
		t.Fatalf("drain: %v", err)
	}
	r.Release(s)
	if _, err := r.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next on a drained ring: %v", err)
	}
	if st := r.Stats(); st.Received != st.Processed+st.Dropped {
		t.Errorf("stats %+v", st)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cap, slot int
		p         Policy
		opts      []Option
		want      string
	}{
		{0, 1, Block, nil, "capacity 0 outside"},
		{1, 0, Block, nil, "slot size 0 outside"},
		{1, 1, Policy(7), nil, "unknown policy 7"},
		{1, 1, Spill, nil, "needs WithSpillDir"},
		{1, 1, Block, []Option{WithSpillDir("x")}, "WithSpillDir given with policy block"},
	} {
		_, err := New(tc.cap, tc.slot, tc.p, tc.opts...)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%d, %d, %v): %v, want %q", tc.cap, tc.slot, tc.p, err, tc.want)
		}
	}
	if _, err := ParsePolicy("drop-newest"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParsePolicy: %v", err)
	}
	if p, err := ParsePolicy("spill"); p != Spill || err != nil {
		t.Errorf("ParsePolicy(spill) = %v, %v", p, err)
	}
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	r := mustNew(t, 2, 8, Block)
	r.Put(ctx, Meta{}, nil)
	s, _ := r.Next(ctx)
	if err := r.Release(s); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(s); !errors.Is(err, ErrRelease) {
		t.Errorf("double release: %v", err)
	}
	if err := r.Release(&Slice{}); !errors.Is(err, ErrRelease) {
		t.Errorf("foreign slice: %v", err)
	}
	if err := r.Release(nil); !errors.Is(err, ErrRelease) {
		t.Errorf("nil: %v", err)
	}
}

func TestNextContext(t *testing.T) {
	r := mustNew(t, 1, 8, Block)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next: %v", err)
	}
}

func TestDropOldest(t *testing.T) {
	ctx := context.Background()
	logs := &capture{}
	r := mustNew(t, 2, 16, DropOldest, WithLogger(slog.New(logs)))
	for i := 1; i <= 5; i++ {
		if err := r.Put(ctx, meta(i), payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	var got []uint64
	for {
		s, err := r.Next(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		got = append(got, s.Meta.Seq)
		r.Release(s)
	}
	if !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("kept %v, want [4 5]", got)
	}
	if st := r.Stats(); st.Dropped != 3 || st.Received != 5 || st.Processed != 2 {
		t.Errorf("stats %+v", st)
	}
	if d := logs.dropped(); !slices.Equal(d, []uint64{1, 2, 3}) {
		t.Errorf("logged drops %v", d)
	}
}

func TestDropOldestAllInFlight(t *testing.T) {
	// Every slot held by a worker: nothing queued to drop, so Put waits.
	ctx := context.Background()
	r := mustNew(t, 1, 8, DropOldest)
	r.Put(ctx, Meta{}, nil)
	s, _ := r.Next(ctx)
	res := make(chan error)
	go func() { res <- r.Put(ctx, Meta{}, nil) }()
	for r.Stats().Blocked < 1 {
		runtime.Gosched()
	}
	r.Release(s)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Dropped != 0 || st.Queued != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSpill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := mustNew(t, 2, 16, Spill, WithSpillDir(dir))
	for i := 1; i <= 5; i++ {
		if err := r.Put(ctx, meta(i), payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spillExt))
	if st := r.Stats(); st.Spilled != 3 || st.Backlog != 3 || len(files) != 3 {
		t.Fatalf("stats %+v, files %v", st, files)
	}
	r.Close()
	for i := 1; ; i++ {
		s, err := r.Next(ctx)
		if errors.Is(err, ErrClosed) {
			if i != 6 {
				t.Errorf("drained after %d slices", i-1)
			}
			break
		}
		want := meta(i)
		want.Seq = uint64(i)
		if s.Meta != want || !bytes.Equal(s.Data, payload(i)) {
			t.Errorf("slice %d: %+v %q", i, s.Meta, s.Data)
		}
		r.Release(s)
	}
	st := r.Stats()
	if st.Unspilled != 3 || st.Processed != 5 || st.Backlog != 0 {
		t.Errorf("stats %+v", st)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spill directory not empty: %v", left)
	}
}

func TestSpillRecovery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := mustNew(t, 1, 16, Spill, WithSpillDir(dir))
	for i := 1; i <= 4; i++ {
		r.Put(ctx, meta(i), payload(i))
	}
	// The process dies: slice 1 (in memory) is lost with it, 2-4 are on disk.
	// A temporary file from an interrupted spill, and a corrupt spill file:
	os.WriteFile(filepath.Join(dir, ".spill-123.tmp"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(dir, spillName(3)), []byte("LSMSRNG1 garbage garbage"), 0o644)

	logs := &capture{}
	r2 := mustNew(t, 2, 16, Spill, WithSpillDir(dir), WithLogger(slog.New(logs)))
	r2.Put(ctx, meta(5), payload(5))
	r2.Close()
	var got []uint64
	for {
		s, err := r2.Next(ctx)
		if err != nil {
			break
		}
		got = append(got, s.Meta.Seq)
		r2.Release(s)
	}
	if !slices.Equal(got, []uint64{2, 4, 5}) {
		t.Errorf("processed %v, want [2 4 5]", got)
	}
	st := r2.Stats()
	if st.Received != 4 || st.Dropped != 1 || st.Processed != 3 {
		t.Errorf("stats %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, spillName(3)+".bad")); err != nil {
		t.Errorf("corrupt file not kept as .bad: %v", err)
	}
	if !strings.Contains(logs.String(), "spilled slice unreadable") || !strings.Contains(logs.String(), "interrupted spill") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestSpillDirUnwritable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := mustNew(t, 1, 16, Spill, WithSpillDir(dir))
	r.Put(ctx, meta(1), nil)
	os.RemoveAll(dir)
	os.WriteFile(dir, nil, 0o644) // a file where the directory was
	if err := r.Put(ctx, meta(2), nil); !errors.Is(err, ErrSpill) {
		t.Errorf("Put with no spill directory: %v", err)
	}
	if st := r.Stats(); st.Received != 1 {
		t.Errorf("a failed spill was counted: %+v", st)
	}
}

// TestManyProducersAndWorkers: every slice is processed exactly once.
func TestManyProducersAndWorkers(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Policy{Block, Spill} {
		t.Run(p.String(), func(t *testing.T) {
			var opts []Option
			if p == Spill {
				opts = append(opts, WithSpillDir(t.TempDir()))
			}
			r := mustNew(t, 8, 32, p, opts...)
			const producers, each, workers = 4, 250, 3
			var seen sync.Map
			var pwg, wwg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wwg.Go(func() {
					for {
						s, err := r.Next(ctx)
						if err != nil {
							return
						}
						if _, dup := seen.LoadOrStore(string(s.Data), true); dup {
							t.Errorf("%s processed twice", s.Data)
						}
						r.Release(s)
					}
				})
			}
			for p := 0; p < producers; p++ {
				pwg.Go(func() {
					for i := 0; i < each; i++ {
						if err := r.Put(ctx, Meta{Source: fmt.Sprint("p", p)}, []byte(fmt.Sprintf("%d/%d", p, i))); err != nil {
							t.Error(err)
						}
					}
				})
			}
			pwg.Wait()
			r.Close()
			wwg.Wait()
			n := 0
			seen.Range(func(_, _ any) bool { n++; return true })
			st := r.Stats()
			if n != producers*each || st.Processed != producers*each || st.Received != st.Processed || st.HighWater > 8 {
				t.Errorf("%d distinct processed; stats %+v", n, st)
			}
		})
	}
}

func TestNoAllocsSteadyState(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 4096)
	m := Meta{Source: "dimse", SOPInstanceUID: "1.2.3"}
	for _, p := range []Policy{Block, DropOldest, Spill} {
		var opts []Option
		if p == Spill {
			opts = append(opts, WithSpillDir(t.TempDir()))
		}
		r := mustNew(t, 4, 4096, p, opts...)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := r.Put(ctx, m, data); err != nil {
				t.Fatal(err)
			}
			s, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r.Release(s)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per slice, want 0", p, allocs)
		}
	}
}

// burst sends 500 slices into a 16-slot ring. The worker is slow: while
// the producer runs it handles one slice per five Puts (in lock step, so
// the outcome is deterministic); after Close it drains the rest.
func burst(t *testing.T, p Policy, opts ...Option) (Stats, []uint64) {
	const n, capacity = 500, 16
	ctx := context.Background()
	r := mustNew(t, capacity, 512, p, opts...)
	tokens := make(chan struct{})
	stepped := make(chan struct{}, n)
	var processed []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			s, err := r.Next(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			<-tokens
			if want := crc32.ChecksumIEEE(payload(int(s.Meta.Seq))); crc32.ChecksumIEEE(s.Data) != want {
				t.Errorf("slice %d corrupted", s.Meta.Seq)
			}
			processed = append(processed, s.Meta.Seq)
			r.Release(s)
			stepped <- struct{}{}
		}
	}()
	for i := 1; i <= n; i++ {
		if err := r.Put(ctx, meta(i), payload(i)); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			tokens <- struct{}{}
			<-stepped
		}
	}
	r.Close()
	close(tokens) // the worker now runs freely
	<-done
	return r.Stats(), processed
}

func TestBurstDropOldest(t *testing.T) {
	logs := &capture{}
	st, processed := burst(t, DropOldest, WithLogger(slog.New(logs)))
	dropped := logs.dropped()
	t.Logf("drop-oldest: %+v", st)
	if st.Received != 500 || st.Received != st.Processed+st.Dropped || int(st.Processed) != len(processed) {
		t.Errorf("received %d != processed %d + dropped %d", st.Received, st.Processed, st.Dropped)
	}
	// Exactly the slices reported dropped are missing.
	if int(st.Dropped) != len(dropped) {
		t.Errorf("Dropped=%d but %d drops logged", st.Dropped, len(dropped))
	}
	all := append(append([]uint64(nil), processed...), dropped...)
	slices.Sort(all)
	for i, s := range all {
		if s != uint64(i+1) {
			t.Fatalf("slice %d neither processed nor reported dropped", i+1)
		}
	}
	if !slices.IsSorted(processed) {
		t.Error("processed out of order")
	}
	if st.Dropped == 0 {
		t.Error("the burst dropped nothing")
	}
}

func TestBurstSpill(t *testing.T) {
	dir := t.TempDir()
	st, processed := burst(t, Spill, WithSpillDir(dir))
	t.Logf("spill: %+v", st)
	if len(processed) != 500 || st.Processed != 500 || st.Dropped != 0 {
		t.Errorf("processed %d, stats %+v", len(processed), st)
	}
	for i, s := range processed {
		if s != uint64(i+1) {
			t.Fatalf("position %d holds slice %d: order lost", i, s)
		}
	}
	if st.Spilled == 0 || st.Spilled != st.Unspilled {
		t.Errorf("spilled %d, unspilled %d", st.Spilled, st.Unspilled)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in the spill directory", len(left))
	}
}

// TestBurstBlock: the producer runs ahead of a gated worker, blocks
// (backpressure), and nothing is lost.
func TestBurstBlock(t *testing.T) {
	const n = 500
	ctx := context.Background()
	r := mustNew(t, 16, 512, Block)
	gate := make(chan struct{})
	var processed []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-gate
		for {
			s, err := r.Next(ctx)
			if err != nil {
				return
			}
			processed = append(processed, s.Meta.Seq)
			crc32.ChecksumIEEE(s.Data) // some work
			r.Release(s)
		}
	}()
	produced := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if err := r.Put(ctx, meta(i), payload(i)); err != nil {
				produced <- err
				return
			}
		}
		produced <- r.Close()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Blocked == 0 { // the producer is now waiting on the worker
		if time.Now().After(deadline) {
			t.Fatal("producer never blocked")
		}
		runtime.Gosched()
	}
	close(gate)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	<-done
	st := r.Stats()
	t.Logf("block: %+v", st)
	if len(processed) != n || st.Processed != n || st.Dropped != 0 || st.HighWater != 16 || st.Blocked == 0 {
		t.Errorf("processed %d; stats %+v", len(processed), st)
	}
	for i, s := range processed {
		if s != uint64(i+1) {
			t.Fatalf("position %d holds slice %d", i, s)
		}
	}
}

// capture is a slog.Handler that records messages and dropped sequence numbers.
type capture struct {
	mu   sync.Mutex
	buf  strings.Builder
	seqs []uint64
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, rec slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.WriteString(rec.Message + "\n")
	if strings.Contains(rec.Message, "dropped the oldest") {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "seq" {
				c.seqs = append(c.seqs, a.Value.Uint64())
			}
			return true
		})
	}
	return nil
}
func (c *capture) dropped() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.seqs...)
}
func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
