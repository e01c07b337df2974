package preflight

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"
)

var le = binary.LittleEndian

// el encodes one explicit VR little endian element.
func el(group, elem uint16, vr string, value []byte) []byte {
	b := le.AppendUint16(nil, group)
	b = le.AppendUint16(b, elem)
	b = append(b, vr...)
	if longLength(vr) {
		b = append(b, 0, 0)
		b = le.AppendUint32(b, uint32(len(value)))
	} else {
		b = le.AppendUint16(b, uint16(len(value)))
	}
	return append(b, value...)
}

func raw(group, elem uint16, length uint32) []byte {
	b := le.AppendUint16(nil, group)
	b = le.AppendUint16(b, elem)
	return le.AppendUint32(b, length)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCheck(t *testing.T) {
	item := cat(raw(0xFFFE, 0xE000, 10), el(0x0010, 0x0020, "LO", []byte("ID")))
	undefSeq := cat(el(0x0008, 0x1115, "SQ", nil)[:8], le.AppendUint32(nil, undefinedLength),
		raw(0xFFFE, 0xE000, undefinedLength), el(0x0010, 0x0020, "LO", []byte("ID")), raw(0xFFFE, 0xE00D, 0),
		raw(0xFFFE, 0xE0DD, 0))
	encap := cat(el(0x7FE0, 0x0010, "OB", nil)[:8], le.AppendUint32(nil, undefinedLength),
		raw(0xFFFE, 0xE000, 0), raw(0xFFFE, 0xE000, 4), []byte{1, 2, 3, 4}, raw(0xFFFE, 0xE0DD, 0))
	ok := map[string][]byte{
		"empty":            nil,
		"string":           el(0x0010, 0x0010, "PN", []byte("A^B ")),
		"defined SQ":       el(0x0008, 0x1115, "SQ", item),
		"undefined SQ":     undefSeq,
		"encapsulated":     encap,
		"pixel data":       el(0x7FE0, 0x0010, "OW", make([]byte, 8)),
		"empty defined SQ": el(0x0008, 0x1115, "SQ", nil),
	}
	for name, data := range ok {
		if err := Check(data, Syntax{}, DefaultLimits, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	long := el(0x0010, 0x0010, "PN", []byte("AB"))
	le.PutUint16(long[6:], 200)
	bad := map[string][]byte{
		"truncated tag":       {0x10, 0x00},
		"long value":          long,
		"bad VR":              {0x10, 0x00, 0x10, 0x00, 'p', 'n', 0, 0},
		"non-item in SQ":      el(0x0008, 0x1115, "SQ", el(0x0010, 0x0020, "LO", []byte("ID"))),
		"SQ longer than data": cat(el(0x0008, 0x1115, "SQ", nil)[:8], le.AppendUint32(nil, 100)),
		"unterminated SQ":     undefSeq[:len(undefSeq)-8],
		"undefined string":    {0x10, 0x00, 0x10, 0x00, 'P', 'N', 0xFF, 0xFF},
		"undefined date":      {0x08, 0x00, 0x20, 0x00, 'D', 'A', 0xFF, 0xFF},
		"undefined UT":        cat([]byte{0x08, 0x00, 0x00, 0x40, 'U', 'T', 0, 0}, le.AppendUint32(nil, undefinedLength)),
		"fragment too long":   cat(encap[:12], raw(0xFFFE, 0xE000, 1000)),
		"no BOT":              cat(encap[:12], raw(0xFFFE, 0xE0DD, 0)),
		"charset as US":       el(0x0008, 0x0005, "US", []byte{1, 0}),
	}
	for name, data := range bad {
		err := Check(data, Syntax{}, DefaultLimits, nil)
		var pe *Error
		if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckLimits(t *testing.T) {
	lim := Limits{MaxDepth: 4, MaxElements: 10, MaxValueBytes: 16}
	deep := cat(el(0x0008, 0x1115, "SQ", cat(raw(0xFFFE, 0xE000, 0))))
	for range 3 {
		deep = el(0x0008, 0x1115, "SQ", cat(raw(0xFFFE, 0xE000, uint32(len(deep))), deep))
	}
	var many []byte
	for range 11 {
		many = append(many, el(0x0010, 0x0010, "PN", nil)...)
	}
	for name, data := range map[string][]byte{
		"deep":  deep,
		"many":  many,
		"bytes": el(0x0010, 0x0010, "LO", make([]byte, 18)),
	} {
		if err := Check(data, Syntax{}, lim, nil); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Pixel Data does not count towards MaxValueBytes.
	if err := Check(el(0x7FE0, 0x0010, "OW", make([]byte, 64)), Syntax{}, lim, nil); err != nil {
		t.Error(err)
	}
}

func TestCheckImplicitAndBigEndian(t *testing.T) {
	// Implicit: Rows (US from the dictionary), then a private tag (UN).
	implicit := cat(raw(0x0028, 0x0010, 2), []byte{1, 0}, raw(0x0009, 0x1001, 3), []byte("abc"))
	var seen []Element
	if err := Check(implicit, Syntax{Implicit: true}, DefaultLimits, func(e Element) { seen = append(seen, e) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].VR != "US" || seen[1].VR != "UN" || seen[1].Next != len(implicit) {
		t.Errorf("%+v", seen)
	}
	be := []byte{0x00, 0x28, 0x00, 0x10, 'U', 'S', 0x00, 0x02, 0x00, 0x01}
	seen = nil
	if err := Check(be, Syntax{BigEndian: true}, DefaultLimits, func(e Element) { seen = append(seen, e) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Tag != tag.Rows {
		t.Errorf("%+v", seen)
	}
}

func part10(meta ...[]byte) []byte {
	body := cat(meta...)
	return cat(make([]byte, 128), []byte("DICM"), el(0x0002, 0x0000, "UL", le.AppendUint32(nil, uint32(len(body)))), body)
}

func TestMeta(t *testing.T) {
	ts := el(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2.1\x00"))
	file := append(part10(el(0x0002, 0x0001, "OB", []byte{0, 1}), ts), el(0x0010, 0x0010, "PN", nil)...)
	got, at, err := Meta(file, DefaultLimits)
	if err != nil || got != "1.2.840.10008.1.2.1" || at != len(file)-8 {
		t.Fatalf("Meta = %q, %d, %v", got, at, err)
	}
	for name, data := range map[string][]byte{
		"no preamble":     []byte("DICM"),
		"no TS":           part10(el(0x0002, 0x0001, "OB", []byte{0, 1})),
		"TS twice":        part10(ts, ts),
		"TS as LO":        part10(el(0x0002, 0x0010, "LO", []byte("1.2"))),
		"two TS values":   part10(el(0x0002, 0x0010, "UI", []byte(`1.2\3.4 `))),
		"no group length": cat(make([]byte, 128), []byte("DICM"), ts),
		"length too long": cat(make([]byte, 128), []byte("DICM"), el(0x0002, 0x0000, "UL", le.AppendUint32(nil, 1000)), ts),
	} {
		if _, _, err := Meta(data, DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/CT_small.dcm"); err == nil {
		f.Add(b, uint8(0))
	}
	f.Add(part10(el(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2\x00"))), uint8(1))
	f.Add(cat(raw(0x0028, 0x0010, 2), []byte{1, 0}), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		s := Syntax{Implicit: mode&1 == 1, BigEndian: mode&2 == 2}
		check := func(err error) {
			if err == nil {
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrLimit)) {
				t.Fatalf("untyped error %v", err)
			}
			if pe.Offset < 0 || pe.Offset > len(data) {
				t.Fatalf("offset %d outside input of %d bytes", pe.Offset, len(data))
			}
		}
		last := 0
		err := Check(data, s, DefaultLimits, func(e Element) {
			if e.Next > len(data) || e.Next < e.ValueAt || e.ValueAt < e.Offset {
				t.Fatalf("element %+v outside input of %d bytes", e, len(data))
			}
			last = max(last, e.Next)
		})
		check(err)
		if err == nil && len(data) > 0 && last != len(data) {
			t.Fatalf("walk ended at %d of %d", last, len(data))
		}
		if HasPreamble(data) {
			_, at, err := Meta(data, DefaultLimits)
			check(err)
			if err == nil && (at < Preamble || at > len(data)) {
				t.Fatalf("data set offset %d", at)
			}
		}
	})
}
