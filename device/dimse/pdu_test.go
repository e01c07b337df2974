package dimse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func samplePDUs() []PDU {
	return []PDU{
		testRQ("LSMS", "CONSOLE",
			ProposedContext{ID: 1, AbstractSyntax: CTImageStorage, TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}},
			ProposedContext{ID: 3, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}),
		&AssociateAC{ProtocolVersion: 1, CalledAE: "LSMS", CallingAE: "CONSOLE", ApplicationContext: ApplicationContextName,
			Contexts: []AcceptedContext{{1, ContextAccepted, ExplicitVRLittleEndian}, {3, ContextAbstractSyntaxNotSupported, ImplicitVRLittleEndian}},
			UserInfo: UserInfo{MaxPDULength: 4096, ImplementationClassUID: ImplementationClassUID, ImplementationVersionName: ImplementationVersionName,
				Other: []SubItem{{Type: 0x53, Data: []byte{0, 1, 0, 1}}, {Type: 0x58, Data: []byte{1, 0, 0, 1, 'u', 0, 0}}}}},
		&AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCalledAETitleNotRecognized},
		&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: true, Data: []byte{1, 2, 3}}, {ContextID: 1, Data: []byte{}}}},
		&ReleaseRQ{},
		&ReleaseRP{},
		&Abort{Source: AbortServiceProvider, Reason: AbortUnexpectedPDU},
	}
}

func TestPDURoundTrip(t *testing.T) {
	for _, p := range samplePDUs() {
		b, err := Encode(p)
		if err != nil {
			t.Fatalf("%s: %v", p.Type(), err)
		}
		got, err := ReadPDU(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("%s: %v", p.Type(), err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s round trip:\n got %#v\nwant %#v", p.Type(), got, p)
		}
	}
}

// TestAssociateRQWire checks the byte layout against PS3.8 Table 9-11.
func TestAssociateRQWire(t *testing.T) {
	b, err := Encode(testRQ("LSMS", "CONSOLE", ProposedContext{ID: 1, AbstractSyntax: "1.2", TransferSyntaxes: []string{"1.2.840.10008.1.2"}}))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x01, 0, 0, 0, 0, byte(len(b) - 6), 0, 1, 0, 0}
	want = append(want, "LSMS            CONSOLE         "...)
	want = append(want, make([]byte, 32)...)
	want = append(want, 0x10, 0, 0, 21)
	want = append(want, "1.2.840.10008.3.1.1.1"...)
	want = append(want, 0x20, 0, 0, 4+4+3+4+17, 1, 0, 0, 0, 0x30, 0, 0, 3, '1', '.', '2', 0x40, 0, 0, 17)
	want = append(want, "1.2.840.10008.1.2"...)
	want = append(want, 0x50, 0, 0, 8+4+7+4+4, 0x51, 0, 0, 4, 0, 0, 0x40, 0, 0x52, 0, 0, 7)
	want = append(want, "1.2.3.4"...)
	want = append(want, 0x55, 0, 0, 4)
	want = append(want, "TEST"...)
	if !bytes.Equal(b, want) {
		t.Errorf("wire form\n got % x\nwant % x", b, want)
	}
}

func TestReadPDUErrors(t *testing.T) {
	rq, _ := Encode(testRQ("A", "B", ProposedContext{ID: 1, AbstractSyntax: "1.2", TransferSyntaxes: []string{"1.2"}}))
	patch := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		in   []byte
		max  uint32
		want string
	}{
		{"empty", nil, 0, "EOF"},
		{"short header", []byte{1, 0, 0}, 0, "truncated PDU header"},
		{"unknown type", []byte{9, 0, 0, 0, 0, 0}, 0, "unknown PDU type 0x09"},
		{"type zero", []byte{0, 0, 0, 0, 0, 0}, 0, "unknown PDU type 0x00"},
		{"truncated body", []byte{5, 0, 0, 0, 0, 4, 0}, 0, "A-RELEASE-RQ truncated: length 4"},
		{"huge length, little data", []byte{4, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 0, "P-DATA-TF truncated"},
		{"too large", []byte{4, 0, 0, 0, 0x10, 0x01}, 4096, "P-DATA-TF PDU of 4097 bytes exceeds the maximum of 4096"},
		{"release length", []byte{5, 0, 0, 0, 0, 2, 0, 0}, 0, "A-RELEASE-RQ length is 2, must be 4"},
		{"abort length", []byte{7, 0, 0, 0, 0, 0}, 0, "A-ABORT length is 0, must be 4"},
		{"rj length", []byte{3, 0, 0, 0, 0, 5, 0, 1, 1, 1, 0}, 0, "A-ASSOCIATE-RJ length is 5"},
		{"empty P-DATA", []byte{4, 0, 0, 0, 0, 0}, 0, "P-DATA-TF without a PDV item"},
		{"PDV too short", []byte{4, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1}, 0, "has length 1, at least 2 needed"},
		{"PDV overruns", []byte{4, 0, 0, 0, 0, 6, 0, 0, 0, 9, 1, 3}, 0, "claims 9 bytes but only 2 remain"},
		{"PDV even context", []byte{4, 0, 0, 0, 0, 6, 0, 0, 0, 2, 2, 3}, 0, "even presentation context ID 2"},
		{"RQ fixed part", []byte{1, 0, 0, 0, 0, 4, 0, 1, 0, 0}, 0, "shorter than the 68-byte fixed part"},
		{"RQ item overrun", append(patch(rq, 2, 0, 0, 0xFF, 0xFF), make([]byte, 0xFFFF)...)[:len(rq)+4], 0, ""},
		{"RQ even context", patch(rq, 6+68+4+21+4, 2), 0, "presentation context 2: ID must be odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPDU(bytes.NewReader(tc.in), tc.max)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want == "EOF" {
				if err != io.EOF {
					t.Errorf("err %v, want io.EOF", err)
				}
				return
			}
			if !errors.Is(err, ErrPDU) && !errors.Is(err, ErrPDUTooLarge) {
				t.Errorf("err %v is neither ErrPDU nor ErrPDUTooLarge", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAssociateRQErrors(t *testing.T) {
	fixed := make([]byte, associateFixed)
	fixed[1] = 1
	item := func(typ byte, val ...byte) []byte {
		b, _ := appendItem(nil, typ, val)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	app := item(0x10, []byte(ApplicationContextName)...)
	ts := item(0x40, '1', '.', '2')
	as := item(0x30, '1', '.', '3')
	pc := func(id byte, sub ...[]byte) []byte {
		return item(0x20, cat(append([][]byte{{id, 0, 0, 0}}, sub...)...)...)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"no app context", cat(fixed, pc(1, as, ts)), "no application context name"},
		{"two app contexts", cat(fixed, app, app, pc(1, as, ts)), "more than one application context"},
		{"no contexts", cat(fixed, app), "no presentation context proposed"},
		{"no abstract", cat(fixed, app, pc(1, ts)), "presentation context 1: no abstract syntax"},
		{"two abstracts", cat(fixed, app, pc(1, as, as, ts)), "more than one abstract syntax"},
		{"no transfer", cat(fixed, app, pc(1, as)), "presentation context 1: no transfer syntax"},
		{"empty transfer", cat(fixed, app, pc(1, as, item(0x40))), "empty transfer syntax"},
		{"odd sub-item", cat(fixed, app, pc(1, as, ts, item(0x51, 0, 0, 0, 0))), "unexpected sub-item 0x51"},
		{"duplicate ID", cat(fixed, app, pc(1, as, ts), pc(1, as, ts)), "ID 1 proposed twice"},
		{"AC item in RQ", cat(fixed, app, item(0x21, 1, 0, 0, 0)), "A-ASSOCIATE-AC presentation context item"},
		{"max length size", cat(fixed, app, pc(1, as, ts), item(0x50, item(0x51, 1, 2)...)), "maximum length sub-item is 2 bytes"},
		{"stray bytes", cat(fixed, app, pc(1, as, ts), []byte{0x50, 0}), "2 stray bytes"},
	} {
		_, err := DecodeAssociateRQ(tc.body)
		if !errors.Is(err, ErrPDU) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	// Unknown item types are ignored.
	rq, err := DecodeAssociateRQ(cat(fixed, app, item(0x7F, 1, 2, 3), pc(1, as, ts)))
	if err != nil || len(rq.Contexts) != 1 {
		t.Errorf("unknown item: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	rq := testRQ("ABCDEFGHIJKLMNOPQ", "B", ProposedContext{ID: 1, AbstractSyntax: "1", TransferSyntaxes: []string{"1"}})
	if _, err := Encode(rq); !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), "at most 16") {
		t.Errorf("long AE: %v", err)
	}
	rq = testRQ("A", "B", ProposedContext{ID: 1, AbstractSyntax: strings.Repeat("1", 70000), TransferSyntaxes: []string{"1"}})
	if _, err := Encode(rq); !errors.Is(err, ErrEncode) {
		t.Errorf("long UID: %v", err)
	}
	if _, err := Encode(&PDataTF{}); !errors.Is(err, ErrEncode) {
		t.Errorf("empty P-DATA: %v", err)
	}
}

func TestMessageFragmentation(t *testing.T) {
	var buf bytes.Buffer
	mw := messageWriter{w: &buf, peerMax: 64}
	cmd := bytes.Repeat([]byte{'c'}, 100)
	data := bytes.Repeat([]byte{'d'}, 130)
	if err := mw.write(3, cmd, data); err != nil {
		t.Fatal(err)
	}
	var gotCmd, gotData []byte
	var lasts []bool
	for {
		p, err := ReadPDU(&buf, 64)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pd := p.(*PDataTF)
		if len(pd.Items) != 1 || pd.Items[0].ContextID != 3 {
			t.Fatalf("PDU %#v", pd)
		}
		it := pd.Items[0]
		if it.Command {
			gotCmd = append(gotCmd, it.Data...)
		} else {
			gotData = append(gotData, it.Data...)
		}
		lasts = append(lasts, it.Last)
	}
	if !bytes.Equal(gotCmd, cmd) || !bytes.Equal(gotData, data) {
		t.Error("reassembly differs")
	}
	// 58-byte fragments: command 58+42, data 58+58+14.
	if want := []bool{false, true, false, false, true}; !reflect.DeepEqual(lasts, want) {
		t.Errorf("last bits %v, want %v", lasts, want)
	}
}
