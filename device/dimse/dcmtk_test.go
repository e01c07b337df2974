package dimse

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// dcmtk finds a dcmtk tool. Missing tools skip the test, unless
// LSMS_REQUIRE_DICOM_TOOLS=1, which makes them a failure.
func dcmtk(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		msg := fmt.Sprintf("dcmtk's %s not found (apt-get install dcmtk)", tool)
		if os.Getenv("LSMS_REQUIRE_DICOM_TOOLS") == "1" {
			t.Fatal(msg + "; LSMS_REQUIRE_DICOM_TOOLS=1 makes this a failure")
		}
		t.Skip(msg + "; set LSMS_REQUIRE_DICOM_TOOLS=1 to fail instead")
	}
	return p
}

// run runs a dcmtk tool with a deadline and returns its combined output
// and exit error.
func run(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dcmtk(t, tool), args...)
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s %s\n%s", tool, strings.Join(args, " "), out)
	return string(out), err
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// withoutTrailingPadding cuts a final Data Set Trailing Padding element
// (FFFC,FFFC) OB off an Explicit VR Little Endian data set.
func withoutTrailingPadding(ds []byte) []byte {
	if i := bytes.LastIndex(ds, []byte{0xFC, 0xFF, 0xFC, 0xFF, 'O', 'B', 0, 0}); i >= 0 {
		return ds[:i]
	}
	return ds
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// ctFolder makes a folder tree with two copies of CT_small.dcm, one in a
// sub-folder, to exercise storescu's +sd +r.
func ctFolder(t *testing.T) string {
	dir := t.TempDir()
	b, err := os.ReadFile(ctSmall)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/CT_small.dcm", "a/b/CT_small_copy.dcm"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDcmtkEchoscu(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Allow: []string{"CONSOLE"}, Handler: newStored().handler, Logger: testLogger(t)})
	if out, err := run(t, "echoscu", "-v", "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port(addr)); err != nil {
		t.Fatalf("echoscu failed: %v\n%s", err, out)
	}
	out, err := run(t, "echoscu", "-aet", "CONSOLE", "-aec", "WRONG", "127.0.0.1", port(addr))
	if err == nil || !strings.Contains(out, "Called AE Title Not Recognized") {
		t.Errorf("echoscu to a wrong called AE: err %v, output lacks the rejection reason", err)
	}
	out, err = run(t, "echoscu", "-aet", "INTRUDER", "-aec", "LSMS", "127.0.0.1", port(addr))
	if err == nil || !strings.Contains(out, "Calling AE Title Not Recognized") {
		t.Errorf("echoscu from a calling AE not allowed: err %v, output lacks the rejection reason", err)
	}
}

func TestDcmtkStorescu(t *testing.T) {
	ct := readPart10(t, ctSmall)
	dir := ctFolder(t)
	for _, tc := range []struct {
		name      string
		serverMax uint32
		args      []string
		wantTS    string
	}{
		{"defaults", 0, nil, ExplicitVRLittleEndian},
		{"max-send-pdu 4096", 0, []string{"--max-send-pdu", "4096"}, ExplicitVRLittleEndian},
		{"max-pdu 16384", 0, []string{"--max-pdu", "16384"}, ExplicitVRLittleEndian},
		{"server MaxPDU 4096", 4096, nil, ExplicitVRLittleEndian},
		{"implicit only", 0, []string{"-xi"}, ImplicitVRLittleEndian},
		{"required contexts only", 0, []string{"-R"}, ExplicitVRLittleEndian},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStored()
			addr := startServer(t, &Server{AETitle: "LSMS", Allow: []string{"CONSOLE"}, MaxPDU: tc.serverMax, Handler: st.handler, Logger: testLogger(t)})
			args := append([]string{"-v", "-aet", "CONSOLE", "-aec", "LSMS"}, tc.args...)
			args = append(args, "127.0.0.1", port(addr), "+sd", "+r", dir)
			if out, err := run(t, "storescu", args...); err != nil {
				t.Fatalf("storescu failed: %v\n%s", err, out)
			}
			got := st.all()
			if len(got) != 2 {
				t.Fatalf("received %d C-STOREs, want 2", len(got))
			}
			for _, r := range got {
				if r.CallingAE != "CONSOLE" || r.SOPClassUID != CTImageStorage || r.SOPInstanceUID != ct.sopInstance || r.TransferSyntaxUID != tc.wantTS {
					t.Errorf("C-STORE %s %s %s from %s", r.SOPClassUID, r.SOPInstanceUID, r.TransferSyntaxUID, r.CallingAE)
				}
				// dcmtk drops Data Set Trailing Padding (FFFC,FFFC) when it
				// re-encodes; everything else is byte for byte the file's.
				want := withoutTrailingPadding(ct.dataset)
				if tc.wantTS == ExplicitVRLittleEndian && !bytes.Equal(r.Data, want) {
					t.Errorf("data set differs from the file's: %d bytes received, %d in the file", len(r.Data), len(want))
				}
				pixels := want[len(want)-128*128*2:]
				if tc.wantTS == ImplicitVRLittleEndian && (!bytes.HasSuffix(r.Data, pixels) || bytes.Equal(r.Data, want)) {
					t.Errorf("implicit VR data set of %d bytes does not end with the pixel data", len(r.Data))
				}
			}
		})
	}
}

func TestDcmtkStorescuRejections(t *testing.T) {
	dir := ctFolder(t)
	st := newStored()
	addr := startServer(t, &Server{AETitle: "LSMS", Allow: []string{"CONSOLE"}, Handler: st.handler, Logger: testLogger(t)})
	out, err := run(t, "storescu", "-aet", "CONSOLE", "-aec", "NOTLSMS", "127.0.0.1", port(addr), "+sd", "+r", dir)
	if err == nil || !strings.Contains(out, "Called AE Title Not Recognized") {
		t.Errorf("storescu to a wrong called AE: err %v", err)
	}
	// Only Big Endian proposed: the CT contexts are rejected with reason 4
	// (transfer syntaxes not supported) and nothing can be sent.
	out, err = run(t, "storescu", "-v", "+v", "-R", "-xb", "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port(addr), "+sd", "+r", dir)
	// storescu -xb proposes per SOP class one context with Big Endian only
	// and one with both Little Endian syntaxes.
	if err != nil || !strings.Contains(out, "Context ID:        1 (Transfer Syntaxes Not Supported)") ||
		!strings.Contains(out, "Context ID:        3 (Accepted)") {
		t.Errorf("storescu -xb: err %v; want context 1 rejected with reason 4 and context 3 accepted", err)
	}
	if n := len(st.all()); n != 2 {
		t.Errorf("%d files stored with -xb, want 2 (on the little endian context)", n)
	}
	// MR is not an accepted SOP class: reason 3, and storescu cannot send.
	mr := "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm"
	if _, err := os.Stat(mr); err == nil {
		out, err = run(t, "storescu", "-v", "+v", "-R", "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port(addr), mr)
		if err == nil || !strings.Contains(out, "(Abstract Syntax Not Supported)") || !strings.Contains(out, "No Acceptable Presentation Contexts") {
			t.Errorf("MR: err %v; want its contexts rejected with reason 3 and storescu failing", err)
		}
	}
}

func TestDcmtkStorescuOutOfResources(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Handler: func(ctx context.Context, r *StoreRequest) Status { return StatusOutOfResources }, Logger: testLogger(t)})
	out, _ := run(t, "storescu", "-v", "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port(addr), ctSmall)
	if !strings.Contains(out, "Received Store Response (Refused: OutOfResources)") {
		t.Errorf("storescu did not report the 0xA700 status")
	}
}

// TestDcmtkStorescuBackpressure: while the Handler blocks, storescu waits
// for its C-STORE-RSP (and is not timed out by the idle timeout).
func TestDcmtkStorescuBackpressure(t *testing.T) {
	storescu := dcmtk(t, "storescu")
	entered, release := make(chan struct{}, 2), make(chan struct{})
	clock := clockwork.NewFakeClock()
	addr := startServer(t, &Server{AETitle: "LSMS", IdleTimeout: time.Second, Clock: clock, Logger: testLogger(t),
		Handler: func(ctx context.Context, r *StoreRequest) Status {
			entered <- struct{}{}
			<-release
			return StatusSuccess
		}})
	cmd := exec.Command(storescu, "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port(addr), ctSmall)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-entered:
	case err := <-exited:
		t.Fatalf("storescu exited before its C-STORE reached the handler: %v\n%s", err, out.String())
	}
	clock.Advance(time.Hour) // handler time is not idle time
	select {
	case err := <-exited:
		t.Fatalf("storescu exited while its C-STORE was unanswered: %v\n%s", err, out.String())
	default:
	}
	close(release)
	if err := <-exited; err != nil {
		t.Fatalf("storescu: %v\n%s", err, out.String())
	}
}

// TestOwnSCUToDcmtkStorescp sends CT_small with our SCU to dcmtk's
// storescp and checks the file it writes.
func TestOwnSCUToDcmtkStorescp(t *testing.T) {
	storescp := dcmtk(t, "storescp")
	ct := readPart10(t, ctSmall)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := t.TempDir()
	var log bytes.Buffer
	cmd := exec.Command(storescp, "-v", "-aet", "PACS", "--max-pdu", "16384", "-od", out, port(addr))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("storescp log:\n%s", log.String())
	}()
	// storescp needs a moment to listen; retry the dial briefly.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c *Client
	for {
		c, err = Dial(ctx, addr, ClientConfig{CallingAE: "LSMS", CalledAE: "PACS", MaxPDU: 4096, Logger: testLogger(t)})
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // waiting for an external process to bind, not a clock
	}
	if err != nil {
		t.Fatalf("Dial storescp: %v", err)
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	if err := c.Store(ctx, ct.sopClass, ct.sopInstance, ct.ts, ct.dataset); err != nil {
		t.Fatalf("Store: %v", err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) != 1 {
		t.Fatalf("storescp wrote %v", files)
	}
	got := readPart10(t, files[0])
	want := withoutTrailingPadding(ct.dataset)
	if got.sopInstance != ct.sopInstance || got.sopClass != ct.sopClass || !bytes.Equal(got.dataset, want) {
		t.Errorf("stored file differs: %s %s, %d data set bytes (want %d)", got.sopClass, got.sopInstance, len(got.dataset), len(want))
	}
}
