package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestOwnSCUToOwnSCP(t *testing.T) {
	ct := readPart10(t, ctSmall)
	for _, tc := range []struct {
		name      string
		serverMax uint32
		clientMax uint32
		ts        []string
		wantTS    string
	}{
		{"defaults", 0, 0, nil, ExplicitVRLittleEndian},
		{"small PDUs both ways", 4096, 4096, nil, ExplicitVRLittleEndian},
		{"minimum PDU", MinMaxPDU, MinMaxPDU, nil, ExplicitVRLittleEndian},
		{"implicit only", 0, 16384, []string{ImplicitVRLittleEndian}, ImplicitVRLittleEndian},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStored()
			addr := startServer(t, &Server{AETitle: "LSMS", Allow: []string{"CONSOLE"}, MaxPDU: tc.serverMax, Handler: st.handler})
			ctx := context.Background()
			c, err := Dial(ctx, addr, ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS", MaxPDU: tc.clientMax, TransferSyntaxes: tc.ts})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Echo(ctx); err != nil {
				t.Fatalf("Echo: %v", err)
			}
			if err := c.Store(ctx, ct.sopClass, ct.sopInstance, tc.wantTS, ct.dataset); err != nil {
				t.Fatalf("Store: %v", err)
			}
			if err := c.Store(ctx, ct.sopClass, "1.2.3.4.5", tc.wantTS, nil); err != nil {
				t.Fatalf("Store of an empty data set: %v", err)
			}
			if err := c.Release(ctx); err != nil {
				t.Fatalf("Release: %v", err)
			}
			got := st.all()
			if len(got) != 2 {
				t.Fatalf("%d stores, want 2", len(got))
			}
			r := got[0]
			if r.CallingAE != "CONSOLE" || r.CalledAE != "LSMS" || r.SOPClassUID != CTImageStorage ||
				r.SOPInstanceUID != ct.sopInstance || r.TransferSyntaxUID != tc.wantTS {
				t.Errorf("request %+v", r)
			}
			if !bytes.Equal(r.Data, ct.dataset) {
				t.Errorf("data set: %d bytes received, %d sent", len(r.Data), len(ct.dataset))
			}
			if len(got[1].Data) != 0 {
				t.Errorf("empty data set arrived as %d bytes", len(got[1].Data))
			}
			if err := c.Echo(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Echo after Release: %v, want ErrClosed", err)
			}
		})
	}
}

func TestClientNoContext(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Handler: newStored().handler})
	ctx := context.Background()
	c, err := Dial(ctx, addr, ClientConfig{CalledAE: "LSMS", SOPClasses: []string{"1.2.840.10008.5.1.4.1.1.4"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// MR Image Storage is proposed but not accepted by the default server.
	err = c.Store(ctx, "1.2.840.10008.5.1.4.1.1.4", "1.2.3", ExplicitVRLittleEndian, []byte{1, 2})
	if !errors.Is(err, ErrNoContext) {
		t.Fatalf("Store: %v, want ErrNoContext", err)
	}
	for _, pc := range c.Contexts() {
		if pc.ID != 1 && pc.Result != ContextAbstractSyntaxNotSupported {
			t.Errorf("context %d: %s", pc.ID, pc.Result)
		}
	}
}

func TestContextNegotiation(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Handler: newStored().handler})
	r := dialRaw(t, addr)
	const jpegBaseline = "1.2.840.10008.1.2.4.50"
	r.send(testRQ("LSMS", "CONSOLE",
		ProposedContext{ID: 1, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{jpegBaseline}},
		ProposedContext{ID: 3, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{ExplicitVRBigEndian, ImplicitVRLittleEndian, ExplicitVRLittleEndian}},
		ProposedContext{ID: 5, AbstractSyntax: "1.2.840.10008.5.1.4.1.1.4", TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		ProposedContext{ID: 7, AbstractSyntax: EnhancedCTImageStorage, TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		ProposedContext{ID: 9, AbstractSyntax: SecondaryCaptureImageStorage, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
		ProposedContext{ID: 11, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
		ProposedContext{ID: 13, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{jpegBaseline}},
	))
	ac, ok := r.recv().(*AssociateAC)
	if !ok {
		t.Fatal("not accepted")
	}
	want := []AcceptedContext{
		{1, ContextTransferSyntaxesNotSupported, jpegBaseline},
		{3, ContextAccepted, ImplicitVRLittleEndian},
		{5, ContextAbstractSyntaxNotSupported, ExplicitVRLittleEndian},
		{7, ContextAccepted, ExplicitVRLittleEndian},
		{9, ContextAccepted, ImplicitVRLittleEndian},
		{11, ContextAccepted, ImplicitVRLittleEndian},
		{13, ContextTransferSyntaxesNotSupported, jpegBaseline},
	}
	if fmt.Sprint(ac.Contexts) != fmt.Sprint(want) {
		t.Errorf("contexts\n got %v\nwant %v", ac.Contexts, want)
	}
	if ac.UserInfo.MaxPDULength != DefaultMaxPDU || ac.UserInfo.ImplementationClassUID != ImplementationClassUID ||
		ac.UserInfo.ImplementationVersionName != ImplementationVersionName {
		t.Errorf("user info %+v", ac.UserInfo)
	}
	if ac.CalledAE != "LSMS" || ac.CallingAE != "CONSOLE" {
		t.Errorf("AE titles not echoed: %q %q", ac.CalledAE, ac.CallingAE)
	}
	r.send(&ReleaseRQ{})
	if _, ok := r.recv().(*ReleaseRP); !ok {
		t.Error("no A-RELEASE-RP")
	}
}

func TestAssociationRejected(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Allow: []string{"CONSOLE", "PACS"}, Handler: newStored().handler})
	pc := ProposedContext{ID: 1, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}
	badVersion := testRQ("LSMS", "CONSOLE", pc)
	badVersion.ProtocolVersion = 2
	badContext := testRQ("LSMS", "CONSOLE", pc)
	badContext.ApplicationContext = "1.2.3"
	tinyPDU := testRQ("LSMS", "CONSOLE", pc)
	tinyPDU.UserInfo.MaxPDULength = 10
	for _, tc := range []struct {
		name string
		rq   *AssociateRQ
		want AssociateRJ
	}{
		{"called AE", testRQ("WRONG", "CONSOLE", pc), AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCalledAETitleNotRecognized}},
		{"called AE case", testRQ("lsms", "CONSOLE", pc), AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCalledAETitleNotRecognized}},
		{"calling AE", testRQ("LSMS", "INTRUDER", pc), AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCallingAETitleNotRecognized}},
		{"protocol version", badVersion, AssociateRJ{RejectedPermanent, SourceServiceProviderACSE, ReasonProtocolVersionNotSupported}},
		{"application context", badContext, AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonApplicationContextNotSupported}},
		{"tiny peer PDU", tinyPDU, AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonNoReasonGiven}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, addr)
			r.send(tc.rq)
			rj, ok := r.recv().(*AssociateRJ)
			if !ok || *rj != tc.want {
				t.Fatalf("got %#v, want %#v", rj, tc.want)
			}
		})
	}
	// The SCU reports the rejection as a *RejectError.
	_, err := Dial(context.Background(), addr, ClientConfig{CallingAE: "CONSOLE", CalledAE: "OTHER"})
	var rj *RejectError
	if !errors.As(err, &rj) || !errors.Is(err, ErrRejected) || rj.Reason != ReasonCalledAETitleNotRecognized {
		t.Fatalf("Dial: %v", err)
	}
	if got := err.Error(); got != "dimse: association rejected: permanent, called AE title not recognized" {
		t.Errorf("error text %q", got)
	}
}

func TestMaxAssociations(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", MaxAssociations: 1, Handler: newStored().handler})
	ctx := context.Background()
	first := associateRaw(t, addr)
	_, err := Dial(ctx, addr, ClientConfig{CalledAE: "LSMS"})
	var rj *RejectError
	if !errors.As(err, &rj) || rj.AssociateRJ != (AssociateRJ{RejectedTransient, SourceServiceProviderPresentation, ReasonLocalLimitExceeded}) {
		t.Fatalf("second association: %v, want transient local-limit-exceeded", err)
	}
	// Release the first and wait for the server to close its side: the
	// slot is free before the connection closes.
	first.send(&ReleaseRQ{})
	if _, ok := first.recv().(*ReleaseRP); !ok {
		t.Fatal("no A-RELEASE-RP")
	}
	if p, err := ReadPDU(first, 0); err == nil {
		t.Fatalf("got %s after A-RELEASE-RP, want EOF", p.Type())
	}
	second, err := Dial(ctx, addr, ClientConfig{CalledAE: "LSMS"})
	if err != nil {
		t.Fatalf("association after release: %v", err)
	}
	second.Close()
}

func TestPDUTooLarge(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", MaxPDU: 4096, Handler: newStored().handler})
	r := associateRaw(t, addr)
	cmd := mustEncode(t, &Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass})
	ok := &PDataTF{Items: []PDV{{ContextID: 3, Command: true, Last: true, Data: cmd}}}
	r.send(ok)
	if _, isP := r.recv().(*PDataTF); !isP {
		t.Fatal("no echo response")
	}
	// PDU-length 4096 is allowed (an unfinished command fragment: no
	// answer), 4097 is not.
	r.send(&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: false, Data: make([]byte, 4096-6)}}})
	r.send(&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: false, Data: make([]byte, 4097-6)}}})
	r.expectAbort(AbortInvalidPDUParameterValue)
}

func TestProtocolViolationsAbort(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Handler: newStored().handler})
	cmd := mustEncode(t, &Command{Field: CStoreRQ, MessageID: 1, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2", HasDataSet: true})
	for _, tc := range []struct {
		name   string
		pdus   []PDU
		reason AbortReason
	}{
		{"data before command", []PDU{&PDataTF{Items: []PDV{{ContextID: 1, Last: true, Data: []byte{1}}}}}, AbortUnexpectedPDUParameter},
		{"unknown context", []PDU{&PDataTF{Items: []PDV{{ContextID: 5, Command: true, Last: true, Data: cmd}}}}, AbortUnexpectedPDUParameter},
		{"malformed command", []PDU{&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: true, Data: []byte{1, 2, 3}}}}}, AbortInvalidPDUParameterValue},
		{"command inside data set", []PDU{&PDataTF{Items: []PDV{
			{ContextID: 1, Command: true, Last: true, Data: cmd},
			{ContextID: 1, Data: []byte{1, 2}},
			{ContextID: 1, Command: true, Last: true, Data: cmd},
		}}}, AbortUnexpectedPDUParameter},
		{"data set switches context", []PDU{&PDataTF{Items: []PDV{
			{ContextID: 1, Command: true, Last: true, Data: cmd},
			{ContextID: 3, Data: []byte{1, 2}},
		}}}, AbortUnexpectedPDUParameter},
		{"second A-ASSOCIATE-RQ", []PDU{testRQ("LSMS", "CONSOLE", ProposedContext{ID: 1, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{ImplicitVRLittleEndian}})}, AbortUnexpectedPDU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := associateRaw(t, addr)
			for _, p := range tc.pdus {
				r.send(p)
			}
			r.expectAbort(tc.reason)
		})
	}
	t.Run("unknown PDU type", func(t *testing.T) {
		r := associateRaw(t, addr)
		r.Write([]byte{0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0})
		r.expectAbort(AbortUnrecognizedPDU)
	})
	t.Run("P-DATA before association", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.send(&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: true, Data: cmd}}})
		r.expectAbort(AbortUnexpectedPDU)
	})
	t.Run("malformed A-ASSOCIATE-RQ", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.Write([]byte{0x01, 0, 0, 0, 0, 4, 0, 1, 0, 0})
		r.expectAbort(AbortInvalidPDUParameterValue)
	})
}

func TestStoreStatuses(t *testing.T) {
	var calls atomic.Int32
	addr := startServer(t, &Server{
		AETitle:       "LSMS",
		MaxObjectSize: 1000,
		Handler: func(ctx context.Context, r *StoreRequest) Status {
			calls.Add(1)
			switch r.SOPInstanceUID {
			case "1.1":
				return StatusOutOfResources
			case "1.2":
				panic("handler bug")
			}
			return StatusSuccess
		},
	})
	ctx := context.Background()
	c, err := Dial(ctx, addr, ClientConfig{CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var se *StatusError
	if err := c.Store(ctx, CTImageStorage, "1.1", ExplicitVRLittleEndian, []byte{1, 2}); !errors.As(err, &se) || se.Status != StatusOutOfResources {
		t.Errorf("handler says out of resources: %v", err)
	}
	if err := c.Store(ctx, CTImageStorage, "1.2", ExplicitVRLittleEndian, []byte{1, 2}); !errors.As(err, &se) || se.Status != StatusCannotUnderstand {
		t.Errorf("handler panics: %v", err)
	}
	if err := c.Store(ctx, CTImageStorage, "1.3", ExplicitVRLittleEndian, make([]byte, 1001)); !errors.As(err, &se) || se.Status != StatusOutOfResources {
		t.Errorf("object over MaxObjectSize: %v", err)
	}
	if err := c.Store(ctx, CTImageStorage, "1.4", ExplicitVRLittleEndian, make([]byte, 1000)); err != nil {
		t.Errorf("object at MaxObjectSize: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler called %d times, want 3 (not for the oversized object)", n)
	}
	// Echo still works: the association survived all of it.
	if err := c.Echo(ctx); err != nil {
		t.Errorf("Echo: %v", err)
	}
}

func TestStoreCommandChecks(t *testing.T) {
	addr := startServer(t, &Server{AETitle: "LSMS", Handler: newStored().handler})
	r := associateRaw(t, addr)
	roundTrip := func(cmd *Command, data []byte) *Command {
		t.Helper()
		mw := messageWriter{w: r, peerMax: 16384}
		var d []byte
		if cmd.HasDataSet {
			d = data
		}
		if err := mw.write(1, mustEncode(t, cmd), d); err != nil {
			t.Fatal(err)
		}
		p, ok := r.recv().(*PDataTF)
		if !ok || len(p.Items) != 1 || !p.Items[0].Command || !p.Items[0].Last {
			t.Fatalf("unexpected response %#v", p)
		}
		rsp, err := DecodeCommand(p.Items[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		return rsp
	}
	for _, tc := range []struct {
		name string
		cmd  Command
		want Status
	}{
		{"no data set", Command{Field: CStoreRQ, MessageID: 7, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2"}, StatusCannotUnderstand},
		{"SOP class mismatch", Command{Field: CStoreRQ, MessageID: 8, AffectedSOPClassUID: EnhancedCTImageStorage, AffectedSOPInstanceUID: "1.2", HasDataSet: true}, StatusCannotUnderstand},
		{"no instance", Command{Field: CStoreRQ, MessageID: 9, AffectedSOPClassUID: CTImageStorage, HasDataSet: true}, StatusCannotUnderstand},
		{"C-FIND", Command{Field: CFindRQ, MessageID: 10, AffectedSOPClassUID: CTImageStorage, HasDataSet: true}, StatusUnrecognizedOperation},
		{"ok", Command{Field: CStoreRQ, MessageID: 11, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2", HasDataSet: true}, StatusSuccess},
	} {
		rsp := roundTrip(&tc.cmd, []byte{0x08, 0, 0x16, 0})
		if rsp.Status != tc.want || rsp.MessageIDBeingRespondedTo != tc.cmd.MessageID || rsp.Field != tc.cmd.Field|0x8000 {
			t.Errorf("%s: response %+v, want status %s", tc.name, rsp, tc.want)
		}
		if tc.want == StatusCannotUnderstand && rsp.ErrorComment == "" {
			t.Errorf("%s: no error comment", tc.name)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	clock := clockwork.NewFakeClock()
	addr := startServer(t, &Server{AETitle: "LSMS", IdleTimeout: 30 * time.Second, Clock: clock, Handler: newStored().handler})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// ARTIM: a connection that never sends A-ASSOCIATE-RQ.
	silent := dialRaw(t, addr)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second)
	silent.expectAbort(AbortReasonNotSpecified)

	// An established association that goes quiet.
	r := associateRaw(t, addr)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * time.Second)
	r.send(&PDataTF{Items: []PDV{{ContextID: 3, Command: true, Last: true, Data: mustEncode(t, &Command{Field: CEchoRQ, MessageID: 1})}}})
	if _, ok := r.recv().(*PDataTF); !ok {
		t.Fatal("no echo response within the idle timeout")
	}
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second)
	p, err := ReadPDU(r, 0)
	if ab, ok := p.(*Abort); err != nil || !ok || ab.Source != AbortServiceProvider {
		t.Fatalf("after idle timeout: %v %v, want provider A-ABORT", p, err)
	}
}

func TestIdleTimeoutExcludesHandler(t *testing.T) {
	clock := clockwork.NewFakeClock()
	entered, release := make(chan struct{}), make(chan struct{})
	addr := startServer(t, &Server{AETitle: "LSMS", IdleTimeout: time.Second, Clock: clock,
		Handler: func(ctx context.Context, r *StoreRequest) Status {
			close(entered)
			<-release
			return StatusSuccess
		}})
	ctx := context.Background()
	c, err := Dial(ctx, addr, ClientConfig{CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Store(ctx, CTImageStorage, "1.2", ExplicitVRLittleEndian, []byte{1}) }()
	<-entered
	clock.Advance(time.Hour) // no timer is armed while the handler blocks
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Store after a long handler: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var handlerCtxDone atomic.Bool
	srv := &Server{AETitle: "LSMS", Handler: func(ctx context.Context, r *StoreRequest) Status {
		close(entered)
		<-release
		handlerCtxDone.Store(ctx.Err() != nil)
		return StatusSuccess
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	bg := context.Background()
	idle, err := Dial(bg, ln.Addr().String(), ClientConfig{CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := Dial(bg, ln.Addr().String(), ClientConfig{CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	stored := make(chan error, 1)
	go func() { stored <- busy.Store(bg, CTImageStorage, "1.2", ExplicitVRLittleEndian, []byte{1}) }()
	<-entered
	cancel()
	// The idle association is aborted at once.
	var ab *AbortError
	if err := idle.Echo(bg); !errors.As(err, &ab) {
		t.Errorf("idle association after shutdown: %v, want A-ABORT", err)
	}
	// The busy one gets its response, then the abort.
	close(release)
	if err := <-stored; err != nil {
		t.Errorf("in-flight C-STORE during shutdown: %v", err)
	}
	if !handlerCtxDone.Load() {
		t.Error("handler ctx not done during shutdown")
	}
	if err := busy.Echo(bg); !errors.As(err, &ab) {
		t.Errorf("busy association after its store: %v, want A-ABORT", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open")
	}
}

func TestServerConfigErrors(t *testing.T) {
	h := newStored().handler
	for _, tc := range []struct {
		srv  *Server
		want string
	}{
		{&Server{Handler: h}, `Server.AETitle "" must be 1-16 characters`},
		{&Server{AETitle: "ABCDEFGHIJKLMNOPQ", Handler: h}, "must be 1-16 characters"},
		{&Server{AETitle: `A\B`, Handler: h}, "contains '\\\\'"},
		{&Server{AETitle: "LSMS"}, "Server.Handler is nil"},
		{&Server{AETitle: "LSMS", Handler: h, MaxPDU: 10}, "Server.MaxPDU 10 outside"},
		{&Server{AETitle: "LSMS", Handler: h, MaxAssociations: -1}, "negative"},
		{&Server{AETitle: "LSMS", Handler: h, Allow: []string{""}}, "Server.Allow entry"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		err = tc.srv.Serve(context.Background(), ln)
		if !errors.Is(err, ErrConfig) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("Serve(%+v) = %v, want %q", tc.srv, err, tc.want)
		}
	}
}
