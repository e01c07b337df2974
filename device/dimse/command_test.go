package dimse

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass},
		{Field: CEchoRSP, MessageIDBeingRespondedTo: 1, AffectedSOPClassUID: VerificationSOPClass, Status: StatusSuccess},
		{Field: CStoreRQ, MessageID: 65535, Priority: 2, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2.3", HasDataSet: true,
			MoveOriginatorAETitle: "MOVER", MoveOriginatorMessageID: 9},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 7, AffectedSOPClassUID: CTImageStorage, AffectedSOPInstanceUID: "1.2.34",
			Status: StatusOutOfResources, ErrorComment: "queue full"},
	} {
		b, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Field, err)
		}
		if *got != c {
			t.Errorf("round trip\n got %+v\nwant %+v", *got, c)
		}
	}
}

// TestCommandWire checks a C-ECHO-RQ byte for byte (PS3.7 E.1, Implicit VR LE).
func TestCommandWire(t *testing.T) {
	b, err := (&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0, 0, 0, 0, 4, 0, 0, 0, 56, 0, 0, 0, // group length = 56
		0, 0, 2, 0, 18, 0, 0, 0, '1', '.', '2', '.', '8', '4', '0', '.', '1', '0', '0', '0', '8', '.', '1', '.', '1', 0,
		0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0, // command field
		0, 0, 0x10, 1, 2, 0, 0, 0, 1, 0, // message ID
		0, 0, 0, 8, 2, 0, 0, 0, 1, 1, // no data set
	}
	if !bytes.Equal(b, want) {
		t.Errorf("\n got % x\nwant % x", b, want)
	}
}

func TestDecodeCommandErrors(t *testing.T) {
	el := func(elem uint16, v ...byte) []byte {
		b := []byte{0, 0, byte(elem), byte(elem >> 8), byte(len(v)), byte(len(v) >> 8), 0, 0}
		return append(b, v...)
	}
	field := el(0x0100, 0x30, 0)
	dst := el(0x0800, 1, 1)
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no Command Field"},
		{"no data set type", field, "no Command Data Set Type"},
		{"stray", cat(field, dst, []byte{1, 2}), "2 stray bytes at offset 20"},
		{"other group", cat([]byte{8, 0, 0x18, 0, 0, 0, 0, 0}, field), "(0008,0018) at offset 0 is not in command group 0000"},
		{"overrun", cat(field, []byte{0, 0, 0, 8, 9, 0, 0, 0, 1}), "claims 9 bytes but only 1 remain"},
		{"US length", cat(el(0x0100, 1), dst), "(0000,0100) has length 1, must be 2"},
		{"group length wrong", cat(el(0, 1, 0, 0, 0), field, dst), "group length says 1 bytes but 20 follow"},
		{"group length late", cat(field, el(0, 10, 0, 0, 0), dst), "not the first element"},
	} {
		_, err := DecodeCommand(tc.in)
		if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	// Unknown group 0000 elements are skipped.
	c, err := DecodeCommand(cat(field, el(0x0003, '1'), dst))
	if err != nil || c.Field != CEchoRQ {
		t.Errorf("unknown element: %v", err)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{
		StatusSuccess:        "0x0000 (success)",
		StatusOutOfResources: "0xA700 (out of resources)",
		0xA7FF:               "0xA7FF (out of resources)",
		0xC123:               "0xC123 (cannot understand)",
		0xB000:               "0xB000 (warning)",
		0xFE00:               "0xFE00",
	} {
		if got := s.String(); got != want {
			t.Errorf("%04x: %q, want %q", uint16(s), got, want)
		}
	}
}
