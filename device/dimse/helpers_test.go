package dimse

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// part10 is a DICOM file split into its meta information and data set.
type part10 struct {
	sopClass, sopInstance, ts string
	dataset                   []byte
}

// readPart10 splits a DICOM Part 10 file (preamble, "DICM", group 0002 in
// Explicit VR Little Endian) — just enough to send test files.
func readPart10(t testing.TB, path string) part10 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		t.Fatalf("%s: no DICM prefix", path)
	}
	var p part10
	off := 132
	for off+8 <= len(b) && binary.LittleEndian.Uint16(b[off:]) == 2 {
		elem := binary.LittleEndian.Uint16(b[off+2:])
		vr := string(b[off+4 : off+6])
		var n, hdr int
		switch vr {
		case "OB", "OW", "UN", "SQ", "UT", "UC", "UR", "OF", "OD", "OL", "OV":
			n, hdr = int(binary.LittleEndian.Uint32(b[off+8:])), 12
		default:
			n, hdr = int(binary.LittleEndian.Uint16(b[off+6:])), 8
		}
		v := string(bytes.TrimRight(b[off+hdr:off+hdr+n], "\x00 "))
		switch elem {
		case 0x0002:
			p.sopClass = v
		case 0x0003:
			p.sopInstance = v
		case 0x0010:
			p.ts = v
		}
		off += hdr + n
	}
	p.dataset = b[off:]
	return p
}

// stored collects C-STORE requests (copies of them).
type stored struct {
	mu   sync.Mutex
	reqs []StoreRequest
	ch   chan StoreRequest
}

func newStored() *stored { return &stored{ch: make(chan StoreRequest, 1024)} }

func (s *stored) handler(ctx context.Context, r *StoreRequest) Status {
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	s.mu.Lock()
	s.reqs = append(s.reqs, c)
	s.mu.Unlock()
	s.ch <- c
	return StatusSuccess
}

func (s *stored) all() []StoreRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StoreRequest(nil), s.reqs...)
}

// startServer runs srv on a loopback port until the test ends and returns
// the address; the test fails if Serve returns an error.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return ln.Addr().String()
}

// rawConn is a test peer speaking raw PDUs.
type rawConn struct {
	t testing.TB
	net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawConn{t, c}
}

func (r *rawConn) send(p PDU) {
	r.t.Helper()
	if err := WritePDU(r, p); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() PDU {
	r.t.Helper()
	p, err := ReadPDU(r, 0)
	if err != nil {
		r.t.Fatalf("reading PDU: %v", err)
	}
	return p
}

// expectAbort reads until an A-ABORT arrives (and then EOF).
func (r *rawConn) expectAbort(reason AbortReason) {
	r.t.Helper()
	p, err := ReadPDU(r, 0)
	if err != nil {
		r.t.Fatalf("want A-ABORT, got error %v", err)
	}
	ab, ok := p.(*Abort)
	if !ok {
		r.t.Fatalf("want A-ABORT, got %s", p.Type())
	}
	if ab.Reason != reason {
		r.t.Errorf("A-ABORT %s, want reason %d", ab, reason)
	}
	if _, err := ReadPDU(r, 0); err == nil {
		r.t.Errorf("connection still open after A-ABORT")
	}
}

func testRQ(called, calling string, pcs ...ProposedContext) *AssociateRQ {
	return &AssociateRQ{
		ProtocolVersion:    1,
		CalledAE:           called,
		CallingAE:          calling,
		ApplicationContext: ApplicationContextName,
		Contexts:           pcs,
		UserInfo:           UserInfo{MaxPDULength: 16384, ImplementationClassUID: "1.2.3.4", ImplementationVersionName: "TEST"},
	}
}

// associateRaw associates with one CT context (ID 1, Explicit LE) and one
// Verification context (ID 3).
func associateRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	r := dialRaw(t, addr)
	r.send(testRQ("LSMS", "CONSOLE",
		ProposedContext{ID: 1, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		ProposedContext{ID: 3, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}))
	if _, ok := r.recv().(*AssociateAC); !ok {
		t.Fatal("association not accepted")
	}
	return r
}

func mustEncode(t testing.TB, c *Command) []byte {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const ctSmall = "testdata/CT_small.dcm"
