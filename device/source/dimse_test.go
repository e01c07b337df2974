package source

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"

	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/ring"
)

// TestStoreHandlerBackpressure: C-STOREs through the SCP into a one-slot
// Block ring; the second waits until a worker frees the slot.
func TestStoreHandlerBackpressure(t *testing.T) {
	r, err := ring.New(1, 16, ring.Block)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- (&dimse.Server{AETitle: "LSMS", Handler: StoreHandler(r, nil)}).Serve(ctx, ln) }()
	c, err := dimse.Dial(ctx, ln.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	store := func(uid string, n int) error {
		return c.Store(ctx, dimse.CTImageStorage, uid, dimse.ExplicitVRLittleEndian, make([]byte, n))
	}
	if err := store("1.1", 16); err != nil {
		t.Fatal(err)
	}
	second := make(chan error)
	go func() { second <- store("1.2", 8) }()
	for r.Stats().Blocked == 0 { // the handler is now blocked in Put
		runtime.Gosched()
	}
	select {
	case err := <-second:
		t.Fatalf("second C-STORE answered while the ring was full: %v", err)
	default:
	}
	s, _ := r.Next(ctx)
	if s.Meta.Source != "dimse:CONSOLE" || s.Meta.SOPInstanceUID != "1.1" || s.Meta.Format != ring.DataSet ||
		s.Meta.TransferSyntaxUID != dimse.ExplicitVRLittleEndian || len(s.Data) != 16 {
		t.Errorf("slice %+v", s.Meta)
	}
	r.Release(s)
	if err := <-second; err != nil {
		t.Fatalf("second C-STORE: %v", err)
	}
	// Too large for a slot: 0xA700, not silence.
	var se *dimse.StatusError
	if err := store("1.3", 17); !errors.As(err, &se) || se.Status != dimse.StatusOutOfResources {
		t.Errorf("oversized: %v", err)
	}
	c.Release(ctx)
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
