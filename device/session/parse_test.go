package session

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// part10 builds a file with the given meta elements (explicit VR LE).
func part10(elems ...[]byte) []byte {
	var group []byte
	for _, e := range elems {
		group = append(group, e...)
	}
	b := make([]byte, 128, 128+4+12+len(group)+8)
	b = append(b, "DICM"...)
	b = append(b, 2, 0, 0, 0, 'U', 'L', 4, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(group)))
	b = append(b, group...)
	return append(b, 0x08, 0x00, 0x16, 0x00, 'U', 'I', 2, 0, '1', 0) // data set
}

func short(el uint16, vr, v string) []byte {
	if len(v)%2 == 1 {
		v += "\x00"
	}
	b := []byte{2, 0, byte(el), byte(el >> 8), vr[0], vr[1]}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func long(el uint16, vr string, v []byte) []byte {
	b := []byte{2, 0, byte(el), byte(el >> 8), vr[0], vr[1], 0, 0}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func TestSplitPart10(t *testing.T) {
	good := part10(long(0x0001, "OB", []byte{0, 1}), short(0x0002, "UI", "1.2.840.10008.5.1.4.1.1.66.4"),
		short(0x0003, "UI", "2.25.7"), short(0x0010, "UI", "1.2.840.10008.1.2.1"), short(0x0013, "SH", "X"))
	m, err := SplitPart10(good)
	if err != nil {
		t.Fatal(err)
	}
	if m.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4" || m.SOPInstanceUID != "2.25.7" || m.TransferSyntaxUID != "1.2.840.10008.1.2.1" {
		t.Errorf("%+v", m)
	}
	if string(good[m.DataSetOffset:m.DataSetOffset+2]) != "\x08\x00" {
		t.Errorf("data set offset %d", m.DataSetOffset)
	}
	for name, b := range map[string][]byte{
		"empty":    nil,
		"no DICM":  make([]byte, 200),
		"no ts":    part10(short(0x0002, "UI", "1.2"), short(0x0003, "UI", "1.3")),
		"no class": part10(short(0x0003, "UI", "1.3"), short(0x0010, "UI", "1.2.840.10008.1.2.1")),
		"group length": func() []byte {
			b := part10(short(0x0010, "UI", "1.2"))
			binary.LittleEndian.PutUint32(b[140:], 1<<31)
			return b
		}(),
		"overrun":      part10(short(0x0010, "UI", "1.2")[:7]),
		"long overrun": part10(long(0x0001, "OB", nil)[:8], []byte{0xff, 0xff, 0xff, 0x7f}),
		"not group 2":  part10([]byte{8, 0, 0x16, 0, 'U', 'I', 0, 0}),
		"no VR":        part10([]byte{2, 0, 0x10, 0, 0, 0, 0, 0}),
	} {
		if _, err := SplitPart10(b); !errors.Is(err, ErrPart10) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzSplitPart10(f *testing.F) {
	f.Add(part10(short(0x0002, "UI", "1.2"), short(0x0003, "UI", "1.3"), short(0x0010, "UI", "1.2.840.10008.1.2.1")))
	f.Add(part10(long(0x0001, "OB", []byte{0, 1})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := SplitPart10(b)
		if err != nil {
			if !errors.Is(err, ErrPart10) {
				t.Fatalf("error %v does not wrap ErrPart10", err)
			}
			return
		}
		if m.DataSetOffset < 144 || m.DataSetOffset > len(b) || m.TransferSyntaxUID == "" {
			t.Fatalf("%+v for %d bytes", m, len(b))
		}
	})
}

func TestParseForward(t *testing.T) {
	f, err := ParseForward("ORTHANC@10.0.0.5:4242")
	if err != nil || f.CalledAE != "ORTHANC" || f.Addr != "10.0.0.5:4242" || f.String() != "ORTHANC@10.0.0.5:4242" {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err := ParseForward("PACS@[::1]:104"); err != nil || f.Addr != "[::1]:104" {
		t.Fatalf("%+v %v", f, err)
	}
	for _, s := range []string{"", "PACS", "@host:1", "PACS@host", "PACS@:104", "PACS@host:0", "PACS@host:70000",
		"A_TITLE_LONGER_THAN_16@h:1", " PACS@h:1", "PA\\CS@h:1", "PACS@h:x"} {
		if _, err := ParseForward(s); !errors.Is(err, ErrForwardSpec) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func FuzzParseForward(f *testing.F) {
	f.Add("PACS@127.0.0.1:104")
	f.Add("X@[::1]:1")
	f.Fuzz(func(t *testing.T, s string) {
		fw, err := ParseForward(s)
		if err != nil {
			if !errors.Is(err, ErrForwardSpec) {
				t.Fatalf("%v", err)
			}
			return
		}
		if fw.CalledAE == "" || len(fw.CalledAE) > 16 || fw.String() != s {
			t.Fatalf("%q → %+v", s, fw)
		}
	})
}

func TestExpressionMap(t *testing.T) {
	m, err := ParseExpressionMap([]byte("# overrides\n\n1.2.3 = the larger cyst\n 1.2.4=lesion in segment VI  \r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["1.2.3"] != "the larger cyst" || m["1.2.4"] != "lesion in segment VI" {
		t.Errorf("%q", m)
	}
	for _, in := range []string{"1.2.3", "1.2.3 =", "abc = x", "1.2.3 = a\n1.2.3 = b", "1.2 = \x00\x01",
		strings.Repeat("1", 65) + " = x", "1.2 = " + strings.Repeat("x", 1025), "1.2 = \xff"} {
		if _, err := ParseExpressionMap([]byte(in)); !errors.Is(err, ErrExpression) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func FuzzParseExpressionMap(f *testing.F) {
	f.Add([]byte("1.2.3 = the larger cyst\n# c\n1.2.4=x"))
	f.Add([]byte("=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseExpressionMap(b)
		if err != nil {
			if !errors.Is(err, ErrExpression) {
				t.Fatalf("%v", err)
			}
			return
		}
		for uid, e := range m {
			if uid == "" || strings.Trim(uid, "0123456789.") != "" {
				t.Fatalf("uid %q", uid)
			}
			if c, err := CleanExpression(e); err != nil || c != e {
				t.Fatalf("expression %q not clean: %q %v", e, c, err)
			}
		}
	})
}

func TestCleanExpression(t *testing.T) {
	for in, want := range map[string]string{
		"  the \t larger\ncyst  ": "the larger cyst",
		"a\\b":                    "a b",
		"HCC in segment VI.":      "HCC in segment VI.",
	} {
		if got, err := CleanExpression(in); err != nil || got != want {
			t.Errorf("%q → %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " \n ", "\xff\xfe", strings.Repeat("é", 1025)} {
		if _, err := CleanExpression(in); !errors.Is(err, ErrExpression) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func FuzzCleanExpression(f *testing.F) {
	f.Add("the larger of the two cysts")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CleanExpression(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(c) || strings.ContainsAny(c, "\\\x00\r\n\t") || strings.TrimSpace(c) != c || strings.Contains(c, "  ") {
			t.Fatalf("%q → %q", s, c)
		}
		if again, err := CleanExpression(c); err != nil || again != c {
			t.Fatalf("not idempotent: %q → %q", c, again)
		}
	})
}

func TestParseThreshold(t *testing.T) {
	if th, err := ParseThreshold("threshold:-100:200"); err != nil || th != (Threshold{-100, 200}) {
		t.Fatalf("%+v %v", th, err)
	}
	for _, s := range []string{"", "threshold", "threshold:1", "threshold:2:1", "threshold:a:b", "thresh:1:2", "threshold:0:40000"} {
		if _, err := ParseThreshold(s); !errors.Is(err, ErrThresholdSpec) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	f.Add("threshold:-100:200")
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err == nil && th.Lo > th.Hi {
			t.Fatalf("%q → %+v", s, th)
		}
	})
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.840.1": "1.2.840.1", "../x": "_.._x", "": "_", "a/b c": "a_b_c", ".hidden": "_.hidden",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
