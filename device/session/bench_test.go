package session_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
)

// benchSeries is a 512×512 phantom series as C-STORE data sets.
func benchSeries(b *testing.B, n int) ([]*dicom.Slice, [][]byte, string) {
	b.Helper()
	p := sessiontest.Sphere(512, 512, n, 0.7, 5, 25)
	sl, _, data, ts, err := p.DataSets(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return sl, data, ts
}

// scp serves handler on a loopback port and returns a connected client.
func scp(b *testing.B, handler func(context.Context, *dimse.StoreRequest) dimse.Status) (*dimse.Client, func()) {
	b.Helper()
	srv := &dimse.Server{AETitle: "LSMS", Handler: handler, MaxPDU: 1 << 20}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, err := dimse.Dial(context.Background(), ln.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS", MaxPDU: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	return c, func() {
		c.Release(context.Background())
		cancel()
		<-done
	}
}

// BenchmarkIngestSCP: C-STORE over loopback → dimse.Server → the session's
// StoreHandler → ring, with a consumer that only releases: the ingest
// ceiling, in slices/s.
func BenchmarkIngestSCP(b *testing.B) {
	sl, data, ts := benchSeries(b, 8)
	r, err := ring.New(16, 1<<20, ring.Block)
	if err != nil {
		b.Fatal(err)
	}
	s, err := session.New(session.Config{Ring: r, Segmenter: session.Threshold{}, Out: b.TempDir(), Expression: "x"})
	if err != nil {
		b.Fatal(err)
	}
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			x, err := r.Next(context.Background())
			if err != nil {
				return
			}
			r.Release(x)
		}
	}()
	c, stop := scp(b, s.StoreHandler())
	b.SetBytes(int64(len(data[0])))
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		k := i % len(sl)
		if err := c.Store(context.Background(), dicom.CTImageStorage, sl[k].SOPInstanceUID, ts, data[k]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "slices/s")
	b.StopTimer()
	stop()
	r.Close()
	<-consumed
}

// BenchmarkEndToEnd: C-STORE over loopback → session with the diagnostic
// threshold segmenter (no model) → measurements, overlay PNG, and at the
// end report + SEG. Reports slices/s and the per-slice latency from
// arrival to the slice's outputs (p50, p99).
func BenchmarkEndToEnd(b *testing.B) {
	for _, bc := range []struct {
		name     string
		overlays bool
		workers  int
		closed   bool // send the next slice only when the last is done: latency without queueing
	}{
		{"saturated/overlays/workers=1", true, 1, false},
		{"saturated/overlays/workers=2", true, 2, false},
		{"saturated/no-overlays/workers=2", false, 2, false},
		{"one-at-a-time/overlays", true, 1, true},
		{"one-at-a-time/no-overlays", false, 1, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sl, data, ts := benchSeries(b, 8)
			r, err := ring.New(8, 1<<20, ring.Block)
			if err != nil {
				b.Fatal(err)
			}
			slice := make(chan session.SliceDone, 1)
			cfg := session.Config{Ring: r, Out: b.TempDir(), Expression: "bright",
				Segmenter: session.Threshold{Lo: sessiontest.LesionLo, Hi: sessiontest.LesionHi},
				Workers:   bc.workers, NoOverlays: !bc.overlays, SeriesIdle: time.Hour}
			if bc.closed {
				cfg.OnSlice = func(d session.SliceDone) { slice <- d }
			}
			s, err := session.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background()) }()
			c, stop := scp(b, s.StoreHandler())
			b.SetBytes(int64(len(data[0])))
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				k := i % len(sl)
				// Re-sent instances replace their earlier result: memory stays flat.
				if err := c.Store(context.Background(), dicom.CTImageStorage, sl[k].SOPInstanceUID, ts, data[k]); err != nil {
					b.Fatal(err)
				}
				if bc.closed {
					<-slice
				}
			}
			stop()
			r.Close()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			el := time.Since(start)
			b.StopTimer()
			sum := s.Summary()
			if sum.Counters.Segmented != uint64(b.N) || !sum.Balanced {
				b.Fatalf("summary %+v", sum.Counters)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "slices/s")
			b.ReportMetric(sum.Latency.P50, "p50-ms")
			b.ReportMetric(sum.Latency.P99, "p99-ms")
		})
	}
}
