package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The files in testdata were written byte for byte the way numpy >= 1.23's
// numpy.lib.format writes them (sorted keys, spare "growth" spaces, 64-byte
// alignment), including version 2.0 and 3.0 headers.
func TestReadTestdata(t *testing.T) {
	tests := []struct {
		file  string
		dtype string
		shape []int
		data  any
	}{
		{"float32_2x3.npy", "float32", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
		{"int64_scalar.npy", "int64", []int{}, []int64{-7}},
		{"bool_4.npy", "bool", []int{4}, []bool{true, false, true, true}},
		{"float16_3.npy", "float16", []int{3}, []uint16{0x3C00, 0xC000, 0x3800}},
		{"uint8_2x2_v2.npy", "uint8", []int{2, 2}, []uint8{0, 1, 254, 255}},
		{"int8_3_v3.npy", "int8", []int{3}, []int8{-128, 0, 127}},
		{"int16_0x2.npy", "int16", []int{0, 2}, []int16{}},
		{"int32_2.npy", "int32", []int{2}, []int32{math.MinInt32, math.MaxInt32}},
		{"float64_1.npy", "float64", []int{1}, []float64{math.Pi}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != tc.dtype || !reflect.DeepEqual(a.Shape, tc.shape) || !reflect.DeepEqual(a.Data, tc.data) {
				t.Fatalf("got %s %v %v, want %s %v %v", a.DType, a.Shape, a.Data, tc.dtype, tc.shape, tc.data)
			}
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			// Round trip through the writer.
			var buf bytes.Buffer
			if err := Write(&buf, a); err != nil {
				t.Fatal(err)
			}
			b, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip: got %+v, want %+v", b, a)
			}
		})
	}
}

func TestWriteFormat(t *testing.T) {
	a, err := New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if string(b[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("preamble %q", b[:8])
	}
	hlen := int(binary.LittleEndian.Uint16(b[8:]))
	if (10+hlen)%64 != 0 {
		t.Errorf("data offset %d not 64-byte aligned", 10+hlen)
	}
	hdr := string(b[10 : 10+hlen])
	if !strings.HasPrefix(hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") || !strings.HasSuffix(hdr, " \n") {
		t.Errorf("header %q", hdr)
	}
	if len(b) != 10+hlen+24 {
		t.Errorf("file is %d bytes, want %d", len(b), 10+hlen+24)
	}
	if got := math.Float32frombits(binary.LittleEndian.Uint32(b[10+hlen+20:])); got != 6 {
		t.Errorf("last element %v", got)
	}

	// One-dimensional shapes keep Python's trailing comma; scalars are ().
	for _, tc := range []struct {
		a    *Array
		want string
	}{
		{&Array{DType: "int8", Shape: []int{3}, Data: []int8{1, 2, 3}}, "'shape': (3,)"},
		{&Array{DType: "bool", Shape: []int{}, Data: []bool{true}}, "'shape': ()"},
		{&Array{DType: "float16", Shape: []int{1, 1}, Data: []uint16{0}}, "'descr': '<f2'"},
		{&Array{DType: "uint8", Shape: []int{1}, Data: []uint8{0}}, "'descr': '|u1'"},
	} {
		buf.Reset()
		if err := Write(&buf, tc.a); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("%v: header lacks %q: %q", tc.a.Shape, tc.want, buf.String())
		}
	}
}

func TestRoundTripAllDTypes(t *testing.T) {
	datas := []any{
		[]float32{0, -1.5, float32(math.Inf(1)), math.MaxFloat32, math.SmallestNonzeroFloat32},
		[]uint16{0, 0x7C00, 0xFBFF, 1, 0x8000},
		[]float64{0, -1.5, math.Inf(-1), math.MaxFloat64, 5e-324},
		[]int8{-128, -1, 0, 1, 127},
		[]uint8{0, 1, 2, 128, 255},
		[]int16{math.MinInt16, -1, 0, 1, math.MaxInt16},
		[]int32{math.MinInt32, -1, 0, 1, math.MaxInt32},
		[]int64{math.MinInt64, -1, 0, 1, math.MaxInt64},
		[]bool{true, false, false, true, true},
	}
	dir := t.TempDir()
	for _, d := range datas {
		a, err := New(d, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, a.DType+".npy")
		if err := WriteFile(path, a); err != nil {
			t.Fatal(err)
		}
		b, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: got %+v, want %+v", a.DType, b, a)
		}
	}
	// Large enough to span several read/write chunks.
	big := make([]float32, 3*chunkBytes/4+7)
	for i := range big {
		big[i] = float32(i) * 0.25
	}
	a, _ := New(big)
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	b, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("large array round trip differs")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(datas) {
		t.Errorf("%d files in %s, want %d", len(ents), dir, len(datas))
	}
}

func TestWriteFileReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	a, _ := New([]int32{1, 2, 3})
	if err := WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	b, _ := New([]int32{4})
	if err := WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data, []int32{4}) {
		t.Fatalf("got %v", got.Data)
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "x.npy"), a); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestWriteInvalid(t *testing.T) {
	for _, a := range []*Array{
		nil,
		{DType: "float32", Shape: []int{2}, Data: []float32{1}},
		{DType: "float32", Shape: []int{1}, Data: []int32{1}},
		{DType: "complex64", Shape: []int{1}, Data: []float32{1}},
		{DType: "int8", Shape: []int{-1}, Data: []int8{}},
		{DType: "int8", Shape: []int{1}, Data: "x"},
	} {
		if err := Write(&bytes.Buffer{}, a); err == nil {
			t.Errorf("Write(%+v) succeeded", a)
		}
	}
	if _, err := New([]string{"x"}); err == nil {
		t.Error("New([]string) succeeded")
	}
	if _, err := New([]float32{1, 2}, 3); err == nil {
		t.Error("New with wrong shape succeeded")
	}
}

// file builds a version 1.0 file from a header dict and data.
func file(dict string, data []byte) []byte {
	h := dict + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

func TestReadErrors(t *testing.T) {
	good := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
	data := make([]byte, 8)
	v2 := []byte("\x93NUMPY\x02\x00")
	v2 = binary.LittleEndian.AppendUint32(v2, 0x7fffffff)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated preamble"},
		{"short", []byte("\x93NUM"), "truncated preamble"},
		{"bad magic", []byte("PK\x03\x04 this is a zip"), "bad magic"},
		{"version", []byte("\x93NUMPY\x04\x00\x00\x00"), "unsupported format version 4.0"},
		{"minor", []byte("\x93NUMPY\x01\x01\x00\x00"), "unsupported format version 1.1"},
		{"header length", []byte("\x93NUMPY\x01\x00"), "truncated header length"},
		{"huge header", v2, "exceeds limit"},
		{"truncated header", append([]byte("\x93NUMPY\x01\x00\x40\x00"), "{'descr'"...), "truncated header"},
		{"fortran", file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data), "fortran_order True"},
		{"big endian", file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data), "big-endian"},
		{"native order", file("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", data), "byte order"},
		{"complex", file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data), "unsupported dtype \"<c8\""},
		{"object", file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data), "unsupported dtype"},
		{"uint32", file("{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", data), "unsupported dtype"},
		{"structured", file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data), "structured"},
		{"garbage", file("hello", data), "does not start"},
		{"missing key", file("{'descr': '<f4', 'shape': (2,), }", data), "missing key"},
		{"extra key", file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data), "unexpected key"},
		{"duplicate key", file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data), "duplicate"},
		{"bad bool", file("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", data), "fortran_order"},
		{"bad shape", file("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", data), "not a tuple"},
		{"negative dim", file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", data), "negative"},
		{"huge dim", file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", data), "out of range"},
		{"unclosed", file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", data), "shape"},
		{"after brace", file(good+" junk", data), "garbage after"},
		{"overflow", file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data), "overflows"},
		{"overflow2", file("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }", data), "overflows"},
		{"truncated data", file(good, data[:5]), "truncated data: 5 of 8 bytes"},
		{"no data", file("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000,), }", nil), "truncated data: 0 of 8000000000000 bytes"},
		{"trailing data", file(good, append(data, 0)), "data length mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("got %+v, want error containing %q", a, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
		})
	}
	// The good header itself reads.
	if _, err := Read(bytes.NewReader(file(good, data))); err != nil {
		t.Fatal(err)
	}
}

func TestReadLenient(t *testing.T) {
	// Forms NumPy's own reader accepts: double quotes, no trailing comma,
	// keys in any order, Python 2 long suffixes, one-byte types with '<'.
	for _, dict := range []string{
		`{"descr": "<i2", "fortran_order": False, "shape": (2,)}`,
		"{'shape': (2L,), 'fortran_order': False, 'descr': '<i2'}",
		"{'descr':'<i2','fortran_order':False,'shape':(2)}",
	} {
		a, err := Read(bytes.NewReader(file(dict, []byte{1, 0, 0xff, 0xff})))
		if err != nil {
			t.Errorf("%s: %v", dict, err)
			continue
		}
		if !reflect.DeepEqual(a.Data, []int16{1, -1}) {
			t.Errorf("%s: got %v", dict, a.Data)
		}
	}
	a, err := Read(bytes.NewReader(file("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }", []byte{7})))
	if err != nil || a.DType != "uint8" {
		t.Errorf("<u1: %v %v", a, err)
	}
}

func TestFloat64s(t *testing.T) {
	a, _ := New([]uint16{0x3C00, 0xC000, 0x3800, 0x0001, 0x7C00, 0x8000})
	got := a.Float64s()
	want := []float64{1, -2, 0.5, math.Ldexp(1, -24), math.Inf(1), 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("float16: got %v, want %v", got, want)
	}
	if !math.Signbit(got[5]) {
		t.Error("float16 -0 lost its sign")
	}
	if h := HalfToFloat32(0x7E00); !math.IsNaN(float64(h)) {
		t.Errorf("0x7E00 = %v, want NaN", h)
	}
	b, _ := New([]bool{true, false})
	if got := b.Float64s(); !reflect.DeepEqual(got, []float64{1, 0}) {
		t.Errorf("bool: %v", got)
	}
	c, _ := New([]int8{-3})
	if got := c.Float64s(); !reflect.DeepEqual(got, []float64{-3}) {
		t.Errorf("int8: %v", got)
	}
}

func FuzzRead(f *testing.F) {
	ents, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".npy" {
			b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add(file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8)))
	f.Add(file("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000,), }", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Read(bytes.NewReader(in))
		if err != nil {
			if a != nil {
				t.Fatal("array returned with error")
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("Read returned an invalid array: %v", err)
		}
		// Whatever reads must survive a write/read round trip.
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) {
			t.Fatalf("round trip: %s %v became %s %v", a.DType, a.Shape, b.DType, b.Shape)
		}
		// NaN payloads compare unequal under DeepEqual; compare bytes.
		var w1, w2 bytes.Buffer
		Write(&w1, a)
		Write(&w2, b)
		if !bytes.Equal(w1.Bytes(), w2.Bytes()) {
			t.Fatal("round trip changed the data")
		}
	})
}
