package ring

import (
	"bytes"
	"testing"
)

// FuzzDecodeSpill: spill files are read back after a crash, so any bytes
// must decode or fail cleanly, and what decodes must re-encode to itself.
func FuzzDecodeSpill(f *testing.F) {
	b, _ := EncodeSpill(Meta{Source: "dimse", Name: "x.dcm", SOPInstanceUID: "1.2", Seq: 7, Format: File}, []byte("data"))
	f.Add(b)
	f.Add([]byte(spillMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, data, err := DecodeSpill(b)
		if err != nil {
			return
		}
		again, err := EncodeSpill(m, data)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

func TestDecodeSpillErrors(t *testing.T) {
	good, _ := EncodeSpill(Meta{Source: "s", Seq: 1}, []byte("abc"))
	flip := append([]byte(nil), good...)
	flip[20] ^= 1
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("NOTMAGIC0000000000000000"),
		"truncated": good[:len(good)-1],
		"bit flip":  flip,
	} {
		if _, _, err := DecodeSpill(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if m, d, err := DecodeSpill(good); err != nil || m.Source != "s" || string(d) != "abc" {
		t.Errorf("good file: %+v %q %v", m, d, err)
	}
}
