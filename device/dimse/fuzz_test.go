package dimse

import (
	"bytes"
	"context"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

// FuzzReadPDU: any byte stream either decodes to a PDU whose encoding
// decodes to the same PDU, or is an error; never a panic, and memory stays
// proportional to the input (ReadPDU reads incrementally).
func FuzzReadPDU(f *testing.F) {
	for _, p := range samplePDUs() {
		b, _ := Encode(p)
		f.Add(b)
	}
	f.Add([]byte{4, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPDU(bytes.NewReader(b), 1<<20)
		if err != nil {
			return
		}
		enc, err := Encode(p)
		if err != nil {
			return // e.g. a decoded item whose trimmed value no longer round-trips in size
		}
		q, err := ReadPDU(bytes.NewReader(enc), 0)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", p.Type(), err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Fatalf("round trip changed the PDU:\n%#v\n%#v", p, q)
		}
	})
}

// normalize maps empty and nil slices alike for comparison, and puts
// unknown user-information sub-items in the order Encode writes them (PS3.7
// D.3.3: those before the implementation version name first, each group in
// its original order).
func normalize(p PDU) PDU {
	switch a := p.(type) {
	case *AssociateRQ:
		c := *a
		c.UserInfo.Other = canonicalOther(a.UserInfo.Other)
		return &c
	case *AssociateAC:
		c := *a
		c.UserInfo.Other = canonicalOther(a.UserInfo.Other)
		return &c
	}
	if d, ok := p.(*PDataTF); ok {
		c := &PDataTF{}
		for _, it := range d.Items {
			it.Data = append([]byte{}, it.Data...)
			c.Items = append(c.Items, it)
		}
		return c
	}
	return p
}

// FuzzDecodeCommand: decoding never panics, and Encode∘Decode is
// idempotent on whatever decodes.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range []Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass},
		{Field: CStoreRQ, MessageID: 3, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2.3", HasDataSet: true, MoveOriginatorAETitle: "X"},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 3, Status: 0xA700, ErrorComment: "full"},
	} {
		b, _ := c.Encode()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		e1, err := c.Encode()
		if err != nil {
			return
		}
		c2, err := DecodeCommand(e1)
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		e2, err := c2.Encode()
		if err != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("encoding not stable: %v\n% x\n% x", err, e1, e2)
		}
	})
}

// FuzzAssociateRQ: decoding an A-ASSOCIATE-RQ body and negotiating it
// never panics; the answer always encodes, and a decoded request
// round-trips.
func FuzzAssociateRQ(f *testing.F) {
	rq, _ := Encode(samplePDUs()[0])
	f.Add(rq[HeaderLen:])
	big := testRQ("LSMS", "CONSOLE")
	for i := 0; i < MaxContexts; i++ {
		big.Contexts = append(big.Contexts, ProposedContext{ID: byte(2*i + 1), AbstractSyntax: DefaultSOPClasses[i%3], TransferSyntaxes: []string{ExplicitVRBigEndian, ImplicitVRLittleEndian}})
	}
	b, _ := Encode(big)
	f.Add(b[HeaderLen:])
	srv := &Server{AETitle: "LSMS", Handler: newStored().handler}
	cfg, err := srv.config()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rq, err := DecodeAssociateRQ(body)
		if err != nil {
			return
		}
		ac, rj, _ := cfg.negotiate(rq)
		if (ac == nil) == (rj == nil) {
			t.Fatal("negotiate must return exactly one of AC and RJ")
		}
		if ac != nil {
			if len(ac.Contexts) != len(rq.Contexts) {
				t.Fatalf("%d answers for %d contexts", len(ac.Contexts), len(rq.Contexts))
			}
			if _, err := Encode(ac); err != nil && len(rq.Contexts) <= MaxContexts {
				t.Fatalf("AC does not encode: %v", err)
			}
		}
		enc, err := Encode(rq)
		if err != nil {
			return
		}
		again, err := DecodeAssociateRQ(enc[HeaderLen:])
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !reflect.DeepEqual(rq, again) {
			t.Fatalf("round trip:\n%#v\n%#v", rq, again)
		}
	})
}

// FuzzServerStream feeds arbitrary bytes to a server association (after a
// valid A-ASSOCIATE-RQ, so the data phase is reached): it must end without
// panicking or hanging, whatever arrives.
func FuzzServerStream(f *testing.F) {
	rq, _ := Encode(testRQ("LSMS", "CONSOLE",
		ProposedContext{ID: 1, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		ProposedContext{ID: 3, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}))
	echo, _ := (&Command{Field: CEchoRQ, MessageID: 1}).Encode()
	store, _ := (&Command{Field: CStoreRQ, MessageID: 2, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2", HasDataSet: true}).Encode()
	var seed bytes.Buffer
	mw := messageWriter{w: &seed, peerMax: 64}
	mw.write(3, echo, nil)
	mw.write(1, store, []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123"))
	WritePDU(&seed, &ReleaseRQ{})
	f.Add(seed.Bytes())
	f.Add([]byte{4, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 1, 0, 0})
	srv := &Server{AETitle: "LSMS", MaxPDU: 4096, MaxObjectSize: 1 << 16, IdleTimeout: -1,
		Handler: func(ctx context.Context, r *StoreRequest) Status { return Status(len(r.Data)) }}
	cfg, err := srv.config()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := net.Pipe()
		go io.Copy(io.Discard, client)
		go func() {
			client.Write(rq)
			client.Write(b)
			client.Close()
		}()
		done := make(chan struct{})
		go func() {
			srv.serveConn(context.Background(), cfg, server, true)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("association did not end")
		}
	})
}

func canonicalOther(items []SubItem) []SubItem {
	out := []SubItem{}
	for _, it := range items {
		if it.Type < subImplementationName {
			out = append(out, it)
		}
	}
	for _, it := range items {
		if it.Type >= subImplementationName {
			out = append(out, it)
		}
	}
	return out
}
