package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Array is an n-dimensional array in C (row-major) order.
type Array struct {
	// DType is the element type: "float32", "float16", "float64", "int8",
	// "uint8", "int16", "int32", "int64" or "bool".
	DType string
	// Shape is the size of each dimension; empty for a scalar.
	Shape []int
	// Data is a slice of the Go type DType names ([]uint16 for "float16")
	// holding product(Shape) elements.
	Data any
}

// ErrFormat is wrapped by every error about malformed or unsupported input.
var ErrFormat = errors.New("npy")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

type dtypeInfo struct {
	name  string
	descr string
	size  int
}

var dtypes = []dtypeInfo{
	{"float32", "<f4", 4},
	{"float16", "<f2", 2},
	{"float64", "<f8", 8},
	{"int8", "|i1", 1},
	{"uint8", "|u1", 1},
	{"int16", "<i2", 2},
	{"int32", "<i4", 4},
	{"int64", "<i8", 8},
	{"bool", "|b1", 1},
}

func lookupName(name string) (dtypeInfo, bool) {
	for _, d := range dtypes {
		if d.name == name {
			return d, true
		}
	}
	return dtypeInfo{}, false
}

// lookupDescr maps a descr string to a dtype. Single-byte types are accepted
// with any byte-order mark, as NumPy treats them all alike.
func lookupDescr(descr string) (dtypeInfo, error) {
	if len(descr) >= 2 {
		order, kind := descr[0], descr[1:]
		for _, d := range dtypes {
			if d.descr[1:] != kind {
				continue
			}
			switch {
			case d.size == 1 && strings.IndexByte("|<>=", order) >= 0, order == '<':
				return d, nil
			case order == '>':
				return dtypeInfo{}, formatErr("big-endian dtype %q is not supported", descr)
			default:
				return dtypeInfo{}, formatErr("dtype %q has no explicit little-endian byte order", descr)
			}
		}
	}
	return dtypeInfo{}, formatErr("unsupported dtype %q", descr)
}

// ElemSize returns the size in bytes of one element of dtype, or 0 when the
// dtype is not supported.
func ElemSize(dtype string) int {
	d, _ := lookupName(dtype)
	return d.size
}

// DTypeOf returns the dtype name for a supported slice type.
func DTypeOf(data any) (string, error) {
	switch data.(type) {
	case []float32:
		return "float32", nil
	case []uint16:
		return "float16", nil
	case []float64:
		return "float64", nil
	case []int8:
		return "int8", nil
	case []uint8:
		return "uint8", nil
	case []int16:
		return "int16", nil
	case []int32:
		return "int32", nil
	case []int64:
		return "int64", nil
	case []bool:
		return "bool", nil
	}
	return "", fmt.Errorf("npy: unsupported data type %T", data)
}

func dataLen(data any) int {
	switch v := data.(type) {
	case []float32:
		return len(v)
	case []uint16:
		return len(v)
	case []float64:
		return len(v)
	case []int8:
		return len(v)
	case []uint8:
		return len(v)
	case []int16:
		return len(v)
	case []int32:
		return len(v)
	case []int64:
		return len(v)
	case []bool:
		return len(v)
	}
	return -1
}

// New returns an Array over data (not copied) with the given shape; the
// dtype follows from data's type ([]uint16 means float16). With no shape
// the array is one-dimensional.
func New(data any, shape ...int) (*Array, error) {
	dt, err := DTypeOf(data)
	if err != nil {
		return nil, err
	}
	if shape == nil {
		shape = []int{dataLen(data)}
	}
	a := &Array{DType: dt, Shape: append([]int{}, shape...), Data: data}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// NumElements returns product(Shape), or -1 when it overflows int or a
// dimension is negative.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt/d {
			return -1
		}
		n *= d
	}
	return n
}

// Len returns the number of elements, product(Shape).
func (a *Array) Len() int { return NumElements(a.Shape) }

// Validate checks that DType is supported, matches Data's Go type, and that
// Data holds product(Shape) elements.
func (a *Array) Validate() error {
	if a == nil {
		return errors.New("npy: nil Array")
	}
	if _, ok := lookupName(a.DType); !ok {
		return fmt.Errorf("npy: unsupported dtype %q", a.DType)
	}
	got, err := DTypeOf(a.Data)
	if err != nil {
		return err
	}
	if got != a.DType {
		return fmt.Errorf("npy: dtype %s but data is %T", a.DType, a.Data)
	}
	n := NumElements(a.Shape)
	if n < 0 {
		return fmt.Errorf("npy: invalid shape %v", a.Shape)
	}
	if l := dataLen(a.Data); l != n {
		return fmt.Errorf("npy: shape %v needs %d elements, data has %d", a.Shape, n, l)
	}
	return nil
}

// Float64s returns the elements converted to float64 (float16 decoded,
// bool as 0/1). It is meant for comparing arrays of any numeric dtype.
func (a *Array) Float64s() []float64 {
	switch v := a.Data.(type) {
	case []float32:
		return conv(v, func(x float32) float64 { return float64(x) })
	case []uint16:
		return conv(v, func(x uint16) float64 { return float64(HalfToFloat32(x)) })
	case []float64:
		return append([]float64{}, v...)
	case []int8:
		return conv(v, func(x int8) float64 { return float64(x) })
	case []uint8:
		return conv(v, func(x uint8) float64 { return float64(x) })
	case []int16:
		return conv(v, func(x int16) float64 { return float64(x) })
	case []int32:
		return conv(v, func(x int32) float64 { return float64(x) })
	case []int64:
		return conv(v, func(x int64) float64 { return float64(x) })
	case []bool:
		return conv(v, func(x bool) float64 {
			if x {
				return 1
			}
			return 0
		})
	}
	return nil
}

func conv[T any](v []T, f func(T) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

// HalfToFloat32 decodes IEEE 754 binary16 bits.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: mant × 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

const (
	magic = "\x93NUMPY"
	// maxHeaderLen bounds the header a reader accepts (NumPy's own default
	// limit is 10000 bytes).
	maxHeaderLen = 1 << 16
)

// ReadFile reads one array from a .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Read reads one array and requires that nothing follows it.
func Read(r io.Reader) (*Array, error) {
	var pre [8]byte
	n, err := io.ReadFull(r, pre[:])
	if k := min(n, len(magic)); string(pre[:k]) != magic[:k] {
		return nil, formatErr("bad magic %q: not a .npy file", pre[:k])
	}
	if err != nil {
		return nil, formatErr("truncated preamble (%d bytes)", n)
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, formatErr("truncated header length")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, formatErr("truncated header length")
		}
		h := binary.LittleEndian.Uint32(b[:])
		if h > maxHeaderLen {
			return nil, formatErr("header length %d exceeds limit %d", h, maxHeaderLen)
		}
		hlen = int(h)
	default:
		return nil, formatErr("unsupported format version %d.%d", major, minor)
	}
	if minor != 0 {
		return nil, formatErr("unsupported format version %d.%d", major, minor)
	}
	hdr := make([]byte, hlen)
	if n, err := io.ReadFull(r, hdr); err != nil {
		return nil, formatErr("truncated header: %d of %d bytes", n, hlen)
	}
	h, err := parseHeader(hdr, major == 3)
	if err != nil {
		return nil, err
	}
	a := &Array{DType: h.dtype.name, Shape: h.shape}
	count := NumElements(h.shape)
	if count < 0 || count > math.MaxInt/h.dtype.size {
		return nil, formatErr("shape %v of %s overflows", h.shape, h.dtype.name)
	}
	if a.Data, err = readData(r, h.dtype, count); err != nil {
		return nil, err
	}
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k > 0 {
		return nil, formatErr("data length mismatch: trailing bytes after %d elements of shape %v", count, h.shape)
	}
	return a, nil
}

type header struct {
	dtype dtypeInfo
	shape []int
}

// parseHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
func parseHeader(b []byte, utf8 bool) (header, error) {
	var s string
	if utf8 {
		s = string(b)
	} else {
		// latin1
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		s = string(rs)
	}
	p := &hparser{s: s}
	var h header
	var haveDescr, haveOrder, haveShape bool
	fail := func(format string, args ...any) (header, error) {
		return header{}, formatErr("header %s: "+format, append([]any{strconv.Quote(truncate(s, 200))}, args...)...)
	}
	if !p.eat('{') {
		return fail("does not start with '{'")
	}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return fail("expected a quoted key at offset %d", p.i)
		}
		if !p.eat(':') {
			return fail("expected ':' after key %q", key)
		}
		switch key {
		case "descr":
			if haveDescr {
				return fail("duplicate key descr")
			}
			haveDescr = true
			d, ok := p.str()
			if !ok {
				return fail("descr is not a string (structured dtypes are not supported)")
			}
			var err error
			if h.dtype, err = lookupDescr(d); err != nil {
				return header{}, err
			}
		case "fortran_order":
			if haveOrder {
				return fail("duplicate key fortran_order")
			}
			haveOrder = true
			switch w := p.word(); w {
			case "False":
			case "True":
				return header{}, formatErr("fortran_order True is not supported (C order only)")
			default:
				return fail("fortran_order is %q, want True or False", w)
			}
		case "shape":
			if haveShape {
				return fail("duplicate key shape")
			}
			haveShape = true
			shape, err := p.tuple()
			if err != "" {
				return fail("shape: %s", err)
			}
			h.shape = shape
		default:
			return fail("unexpected key %q", key)
		}
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return fail("expected ',' or '}' at offset %d", p.i)
	}
	if rest := strings.TrimRight(s[p.i:], " \t\n\r\x00"); rest != "" {
		return fail("garbage after '}'")
	}
	if !haveDescr || !haveOrder || !haveShape {
		return fail("missing key (need descr, fortran_order and shape)")
	}
	return h, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

type hparser struct {
	s string
	i int
}

func (p *hparser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *hparser) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a single- or double-quoted string without escapes.
func (p *hparser) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	j := strings.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+j]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	p.i += j + 2
	return v, true
}

func (p *hparser) word() string {
	p.skip()
	j := p.i
	for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z') {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

// tuple reads "(d0, d1, ...)" with optional trailing comma; Python requires
// the comma for one element but NumPy's writer always emits it and its
// reader is lenient, so both are accepted.
func (p *hparser) tuple() ([]int, string) {
	if !p.eat('(') {
		return nil, "not a tuple"
	}
	shape := []int{}
	for {
		if p.eat(')') {
			return shape, ""
		}
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			if p.i < len(p.s) && p.s[p.i] == '-' {
				return nil, "negative dimension"
			}
			return nil, fmt.Sprintf("expected a dimension at offset %d", p.i)
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, fmt.Sprintf("dimension %s out of range", truncate(p.s[p.i:j], 30))
		}
		shape = append(shape, d)
		if len(shape) > 64 {
			return nil, "more than 64 dimensions"
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' { // Python 2 long, old files
			p.i++
		}
		if p.eat(',') {
			continue
		}
		if p.eat(')') {
			return shape, ""
		}
		return nil, fmt.Sprintf("expected ',' or ')' at offset %d", p.i)
	}
}

// chunkBytes is how much data is read (and decoded) at a time, so memory
// grows with the bytes actually present rather than with the claimed shape.
const chunkBytes = 1 << 16

func readData(r io.Reader, d dtypeInfo, n int) (any, error) {
	switch d.name {
	case "float32":
		return readSlice(r, d, n, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case "float16":
		return readSlice(r, d, n, func(b []byte) uint16 { return binary.LittleEndian.Uint16(b) })
	case "float64":
		return readSlice(r, d, n, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case "int8":
		return readSlice(r, d, n, func(b []byte) int8 { return int8(b[0]) })
	case "uint8":
		return readSlice(r, d, n, func(b []byte) uint8 { return b[0] })
	case "int16":
		return readSlice(r, d, n, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case "int32":
		return readSlice(r, d, n, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case "int64":
		return readSlice(r, d, n, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case "bool":
		return readSlice(r, d, n, func(b []byte) bool { return b[0] != 0 })
	}
	return nil, formatErr("unsupported dtype %q", d.name)
}

func readSlice[T any](r io.Reader, d dtypeInfo, n int, dec func([]byte) T) ([]T, error) {
	per := chunkBytes / d.size
	out := make([]T, 0, min(n, per))
	buf := make([]byte, min(n, per)*d.size)
	for len(out) < n {
		k := min(n-len(out), per)
		m, err := io.ReadFull(r, buf[:k*d.size])
		for i := 0; i+d.size <= m; i += d.size {
			out = append(out, dec(buf[i:i+d.size]))
		}
		if err != nil {
			got := int64(len(out))*int64(d.size) + int64(m%d.size)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, formatErr("truncated data: %d of %d bytes (%d × %s)", got, int64(n)*int64(d.size), n, d.name)
			}
			return nil, fmt.Errorf("npy: reading data: %w", err)
		}
	}
	return out, nil
}

// Write writes a as a version 1.0 .npy file (2.0 if the header is too long
// for 1.0).
func Write(w io.Writer, a *Array) error {
	if err := a.Validate(); err != nil {
		return err
	}
	d, _ := lookupName(a.DType)
	var shape strings.Builder
	shape.WriteByte('(')
	for i, s := range a.Shape {
		if i > 0 {
			shape.WriteString(", ")
		}
		shape.WriteString(strconv.Itoa(s))
	}
	if len(a.Shape) == 1 {
		shape.WriteByte(',')
	}
	shape.WriteByte(')')
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", d.descr, shape.String())
	major, pre := byte(1), 10
	if len(dict)+1+pre > math.MaxUint16 {
		major, pre = 2, 12
	}
	pad := (64 - (pre+len(dict)+1)%64) % 64
	hlen := len(dict) + pad + 1
	var hb bytes.Buffer
	hb.WriteString(magic)
	hb.WriteByte(major)
	hb.WriteByte(0)
	if major == 1 {
		hb.Write(binary.LittleEndian.AppendUint16(nil, uint16(hlen)))
	} else {
		hb.Write(binary.LittleEndian.AppendUint32(nil, uint32(hlen)))
	}
	hb.WriteString(dict)
	hb.WriteString(strings.Repeat(" ", pad))
	hb.WriteByte('\n')
	if _, err := w.Write(hb.Bytes()); err != nil {
		return err
	}
	return writeData(w, a.Data)
}

func writeData(w io.Writer, data any) error {
	switch v := data.(type) {
	case []float32:
		return writeSlice(w, v, 4, func(b []byte, x float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(x)) })
	case []uint16:
		return writeSlice(w, v, 2, func(b []byte, x uint16) { binary.LittleEndian.PutUint16(b, x) })
	case []float64:
		return writeSlice(w, v, 8, func(b []byte, x float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(x)) })
	case []int8:
		return writeSlice(w, v, 1, func(b []byte, x int8) { b[0] = byte(x) })
	case []uint8:
		_, err := w.Write(v)
		return err
	case []int16:
		return writeSlice(w, v, 2, func(b []byte, x int16) { binary.LittleEndian.PutUint16(b, uint16(x)) })
	case []int32:
		return writeSlice(w, v, 4, func(b []byte, x int32) { binary.LittleEndian.PutUint32(b, uint32(x)) })
	case []int64:
		return writeSlice(w, v, 8, func(b []byte, x int64) { binary.LittleEndian.PutUint64(b, uint64(x)) })
	case []bool:
		return writeSlice(w, v, 1, func(b []byte, x bool) {
			b[0] = 0
			if x {
				b[0] = 1
			}
		})
	}
	return fmt.Errorf("npy: unsupported data type %T", data)
}

func writeSlice[T any](w io.Writer, v []T, size int, enc func([]byte, T)) error {
	per := chunkBytes / size
	buf := make([]byte, min(len(v), per)*size)
	for len(v) > 0 {
		k := min(len(v), per)
		for i := 0; i < k; i++ {
			enc(buf[i*size:], v[i])
		}
		if _, err := w.Write(buf[:k*size]); err != nil {
			return err
		}
		v = v[k:]
	}
	return nil
}

// WriteFile writes a to path atomically: it writes a temporary file in the
// same directory, syncs it and renames it over path.
func WriteFile(path string, a *Array) (err error) {
	if err := a.Validate(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = Write(bw, a); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
