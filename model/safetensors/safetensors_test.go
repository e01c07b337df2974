package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// testdata/dtypes.safetensors was written by train/lsms/safetensors.py
// (save_file) from the tensors listed in TestPythonFile.

func TestPythonFile(t *testing.T) {
	for _, open := range []func(string) (*File, error){Open, ReadFile} {
		f, err := open("testdata/dtypes.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]float32{
			"f32":    {1.5, -2, 3.25, 0, 0.001, -7},
			"f16":    {1, -0.5, 65504, 6.097555160522461e-05, 1.1920928955078125e-07},
			"bf16":   {1, -3.5, 1.0002555517425873e+30},
			"i64":    {0, -1, 1 << 40},
			"i32":    {7, -9},
			"scalar": {2.5},
			"empty":  {},
		}
		if got := f.Names(); !slices.Equal(got, []string{"bf16", "empty", "f16", "f32", "i32", "i64", "scalar"}) {
			t.Fatalf("names %v", got)
		}
		for name, w := range want {
			got, err := f.Float32(name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, w) {
				t.Errorf("%s: got %v, want %v", name, got, w)
			}
		}
		ti, _ := f.Tensor("i32")
		if ti.DType != I32 || !slices.Equal(ti.Shape, []int{2, 1}) {
			t.Errorf("i32 info %+v", ti)
		}
		if s, _ := f.Tensor("scalar"); len(s.Shape) != 0 || s.NumElements() != 1 {
			t.Errorf("scalar info %+v", s)
		}
		if f.Metadata["format"] != "pt" || !strings.Contains(f.Metadata["note"], "safetensors.py") {
			t.Errorf("metadata %v", f.Metadata)
		}
		if _, err := f.Float32Shape("f32", 2, 3); err != nil {
			t.Error(err)
		}
		if _, err := f.Float32Shape("f32", 3, 2); err == nil || !strings.Contains(err.Error(), "want [3 2]") {
			t.Errorf("shape check: %v", err)
		}
		if _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing tensor: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestHalf(t *testing.T) {
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-08,
		0x03ff: 6.097555160522461e-05, 0x0400: 6.103515625e-05, 0x3555: 0.333251953125,
	}
	for h, w := range cases {
		if g := HalfToFloat32(h); g != w {
			t.Errorf("%#04x: %g, want %g", h, g, w)
		}
	}
	if !math.IsInf(float64(HalfToFloat32(0xfc00)), -1) || !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("inf/nan")
	}
	if g := HalfToFloat32(0x8000); g != 0 || !math.Signbit(float64(g)) {
		t.Error("-0")
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	b, err := Encode([]Entry{
		F32Entry("b", []int{2}, []float32{1, 2}),
		F32Entry("a", []int{1, 1}, []float32{3}),
		{Name: "z", DType: U8, Shape: []int{0}, Data: nil},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data not aligned: header %d", n)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Float32("a")
	bb, _ := f.Float32("b")
	if a[0] != 3 || bb[1] != 2 || f.Metadata["k"] != "v" {
		t.Errorf("round trip: %v %v %v", a, bb, f.Metadata)
	}
	if _, err := Encode([]Entry{F32Entry("a", []int{2}, []float32{1})}, nil); err == nil {
		t.Error("size mismatch accepted")
	}
}

// file builds a safetensors file from a header string and a data buffer.
func file(header string, data int) []byte {
	b := make([]byte, 8, 8+len(header)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func TestInvalid(t *testing.T) {
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, MaxHeaderSize+1)
	cases := []struct {
		name string
		data []byte
		msg  string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"header too long", huge, "exceeds the limit"},
		{"header past end", file(`{}`, 0)[:9], "exceeds the 1 bytes"},
		{"not json", file(`{"a":`, 0), "header JSON"},
		{"array", file(`[]`, 0), "not an object"},
		{"trailing json", file(`{} {}`, 0), "data after the object"},
		{"bad utf8", file("{\"\xff\":1}", 0), "UTF-8"},
		{"duplicate", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "duplicate header entry \"a\""},
		{"missing field", file(`{"a":{"dtype":"F32","shape":[1]}}`, 4), "needs dtype, shape and data_offsets"},
		{"bad dtype", file(`{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, 1), "unsupported dtype \"F8\""},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), "not a non-negative integer"},
		{"float dim", file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), "not a non-negative integer"},
		{"huge shape", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}`, 4), "more elements than"},
		{"offsets count", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 4), "needs 2 numbers"},
		{"offsets reversed", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, 4), "outside"},
		{"offsets past end", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 4), "outside the 4-byte data buffer"},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "needs 8"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlaps"},
		{"gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "gap of 4 bytes"},
		{"trailing bytes", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 6), "2 bytes after the last tensor"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, 0), "must map strings to strings"},
	}
	for _, c := range cases {
		_, err := Parse(c.data)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want one containing %q wrapping ErrInvalid", c.name, err, c.msg)
		}
	}
	// Valid edge cases.
	for _, h := range []string{`{}`, `{"__metadata__":null}`, ` { "a" : {"dtype":"BOOL","shape":[],"data_offsets":[0,1], "extra": 1} }   `} {
		n := 0
		if strings.Contains(h, "BOOL") {
			n = 1
		}
		if _, err := Parse(file(h, n)); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	if b, err := Encode([]Entry{F32Entry("w", []int{2, 2}, []float32{1, 2, 3, 4}), {Name: "h", DType: F16, Shape: []int{1}, Data: []byte{0, 0x3c}}}, map[string]string{"a": "b"}); err == nil {
		f.Add(b)
	}
	f.Add(file(`{"a":{"dtype":"BF16","shape":[2,0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8))
	f.Add(file(`{"__metadata__":{"x":"y"}}`, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		var entries []Entry
		for _, ti := range file.Tensors() {
			v, err := file.Float32(ti.Name)
			if err != nil {
				t.Fatalf("%s: %v", ti.Name, err)
			}
			if len(v) != ti.NumElements() {
				t.Fatalf("%s: %d values for shape %v", ti.Name, len(v), ti.Shape)
			}
			raw, _ := file.Bytes(ti.Name)
			entries = append(entries, Entry{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: raw})
		}
		// A parsed file re-encodes to one that parses to the same tensors.
		b, err := Encode(entries, file.Metadata)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !slices.Equal(again.Names(), file.Names()) {
			t.Fatalf("names differ after round trip")
		}
	})
}
