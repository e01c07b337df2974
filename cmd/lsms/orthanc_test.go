package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startOrthanc runs Orthanc (Debian package orthanc) on loopback ports with
// its storage in a temporary folder, and returns its DICOM and REST ports.
// Missing Orthanc skips the test unless LSMS_REQUIRE_ORTHANC=1.
func startOrthanc(t *testing.T) (dicomPort, httpPort int) {
	t.Helper()
	bin, err := exec.LookPath("Orthanc")
	if err != nil {
		if os.Getenv("LSMS_REQUIRE_ORTHANC") == "1" {
			t.Fatal("Orthanc not found (Debian package orthanc) and LSMS_REQUIRE_ORTHANC=1")
		}
		t.Skip("Orthanc not installed (Debian package orthanc); set LSMS_REQUIRE_ORTHANC=1 to require it")
	}
	dir := t.TempDir()
	dicomPort, httpPort = freePort(t), freePort(t)
	cfg := map[string]any{
		"Name": "LSMS-TEST", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"DicomAet": "ORTHANC", "DicomPort": dicomPort, "DicomCheckCalledAet": true,
		"HttpPort": httpPort, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
		"Plugins": []string{}, "ConcurrentJobs": 1,
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, path)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	started := make(chan bool, 1)
	var log []string
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			log = append(log, sc.Text())
			if !ok && strings.Contains(sc.Text(), "Orthanc has started") {
				ok = true
				started <- true
			}
		}
		if !ok {
			started <- false
		}
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatalf("Orthanc exited:\n%s", strings.Join(log, "\n"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Orthanc did not start within 30 s")
	}
	return dicomPort, httpPort
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestSCPForwardToOrthanc: the SEG of a received series is C-STOREd to a
// real PACS (Orthanc), which lists it over REST.
func TestSCPForwardToOrthanc(t *testing.T) {
	dport, hport := startOrthanc(t)
	p := sessiontest.Sphere(64, 64, 10, 1.5, 3, 10)
	sl, truth, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan *session.Report, 1)
	o := &scpOptions{daemonOptions: daemonOptions{out: t.TempDir(), expr: "the sphere",
		forward: fmt.Sprintf("ORTHANC@127.0.0.1:%d", dport), onSeries: func(r *session.Report) { reports <- r }}}
	srv, stop := testSCP(t, o, &sessiontest.Truth{Masks: truth})
	c, err := dimse.Dial(context.Background(), srv.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sl {
		if err := c.Store(context.Background(), dicom.CTImageStorage, sl[i].SOPInstanceUID, ts, data[i]); err != nil {
			t.Fatal(err)
		}
	}
	c.Release(context.Background())
	stop()
	if _, err := srv.Wait(); err != nil {
		t.Fatal(err)
	}
	rep := <-reports
	if rep.Forward == nil || !rep.Forward.OK {
		t.Fatalf("forward %+v", rep.Forward)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", hport)
	var ids []string
	getJSON(t, base+"/instances", &ids)
	if len(ids) != 1 {
		t.Fatalf("Orthanc holds %d instances, want the SEG alone", len(ids))
	}
	var tags map[string]any
	getJSON(t, base+"/instances/"+ids[0]+"/simplified-tags", &tags)
	if tags["SOPInstanceUID"] != rep.SEG.SOPInstanceUID || tags["SOPClassUID"] != dicom.SegmentationStorage || tags["Modality"] != "SEG" {
		t.Errorf("Orthanc has SOP %v class %v modality %v; want SEG %s", tags["SOPInstanceUID"], tags["SOPClassUID"], tags["Modality"], rep.SEG.SOPInstanceUID)
	}
	if tags["StudyInstanceUID"] != sl[0].StudyInstanceUID {
		t.Errorf("SEG study %v, source study %s", tags["StudyInstanceUID"], sl[0].StudyInstanceUID)
	}
}
