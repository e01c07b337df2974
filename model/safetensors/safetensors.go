// Package safetensors reads (and, for tests and tools, writes) the
// safetensors format: an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON
//
//	{"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
//	 ..., "__metadata__": {"key": "value"}}
//
// then the data buffer. Offsets are relative to the start of the buffer;
// tensors are little-endian and C-contiguous.
//
// Parse validates everything before it returns: the header length (at most
// MaxHeaderSize and inside the file), the JSON (an object, no duplicate
// names, no trailing data, valid UTF-8), every entry (a known dtype,
// non-negative dimensions, data_offsets inside the buffer with END−BEGIN =
// product(shape) × dtype size) and the buffer as a whole (tensors neither
// overlap nor leave gaps, no bytes after the last one), so that accessors
// cannot fail on a file that parsed. Errors wrap ErrInvalid and name the
// tensor and the problem.
//
// Open maps the file read-only (falling back to reading it); the File's
// byte slices alias the mapping until Close.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header (as train/lsms/safetensors.py does).
const MaxHeaderSize = 100 << 20

// MetadataKey is the reserved header entry holding string metadata.
const MetadataKey = "__metadata__"

// ErrInvalid is wrapped by every error about a malformed file.
var ErrInvalid = errors.New("invalid safetensors file")

// ErrNotFound is wrapped by accessor errors for a name the file lacks.
var ErrNotFound = errors.New("no such tensor")

// DType is a safetensors element type name ("F32", "BF16", ...).
type DType string

// Element types of the format.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
	U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
}

// Size is the element size in bytes (0 for an unknown type).
func (d DType) Size() int { return dtypeSizes[d] }

// Tensor describes one entry of a file.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are the data_offsets, relative to the data buffer.
	Begin, End int
}

// NumElements is the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed safetensors file.
type File struct {
	// Metadata is the __metadata__ map (empty when absent).
	Metadata map[string]string
	tensors  []Tensor // sorted by name
	index    map[string]int
	data     []byte // the data buffer (after the header)
	unmap    func([]byte) error
	mapped   []byte
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("safetensors: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// rawEntry is one header entry before validation.
type rawEntry struct {
	DType       *string        `json:"dtype"`
	Shape       *[]json.Number `json:"shape"`
	DataOffsets *[]json.Number `json:"data_offsets"`
}

// Parse validates data as a safetensors file. The File aliases data.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, invalid("file of %d bytes is shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, invalid("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, invalid("header length %d exceeds the %d bytes after the length", n, len(data)-8)
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	if !utf8.Valid(header) {
		return nil, invalid("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, invalid("header JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("header JSON is not an object")
	}
	f := &File{Metadata: map[string]string{}, index: map[string]int{}, data: buf}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("header JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, invalid("header JSON: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, invalid("duplicate header entry %q", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid("header JSON: entry %q: %v", name, err)
		}
		if name == MetadataKey {
			if string(raw) == "null" {
				continue
			}
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return nil, invalid("%s must map strings to strings: %v", MetadataKey, err)
			}
			for k, v := range md {
				f.Metadata[k] = v
			}
			continue
		}
		t, err := parseEntry(name, raw, len(buf))
		if err != nil {
			return nil, err
		}
		f.tensors = append(f.tensors, t)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, invalid("header JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("header JSON: data after the object")
	}

	// The buffer must be covered exactly: sort by offsets and walk it.
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := &f.tensors[a], &f.tensors[b]
		if ta.Begin != tb.Begin {
			return ta.Begin - tb.Begin
		}
		return ta.End - tb.End
	})
	pos := 0
	for _, i := range order {
		t := &f.tensors[i]
		switch {
		case t.Begin < pos:
			return nil, invalid("tensor %q (bytes %d..%d) overlaps the tensor before it (ending at %d)", t.Name, t.Begin, t.End, pos)
		case t.Begin > pos:
			return nil, invalid("gap of %d bytes in the data buffer before tensor %q (bytes %d..%d)", t.Begin-pos, t.Name, t.Begin, t.End)
		}
		pos = t.End
	}
	if pos != len(buf) {
		return nil, invalid("%d bytes after the last tensor (data buffer %d bytes, tensors cover %d)", len(buf)-pos, len(buf), pos)
	}
	slices.SortFunc(f.tensors, func(a, b Tensor) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	for i := range f.tensors {
		f.index[f.tensors[i].Name] = i
	}
	return f, nil
}

func parseEntry(name string, raw json.RawMessage, bufLen int) (Tensor, error) {
	var e rawEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Tensor{}, invalid("tensor %q: %v", name, err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return Tensor{}, invalid("tensor %q: needs dtype, shape and data_offsets", name)
	}
	t := Tensor{Name: name, DType: DType(*e.DType)}
	size := t.DType.Size()
	if size == 0 {
		return Tensor{}, invalid("tensor %q: unsupported dtype %q", name, *e.DType)
	}
	// Element count, bounded by the buffer so that it cannot overflow.
	count, zero := uint64(1), false
	for _, d := range *e.Shape {
		v, err := strconv.ParseUint(string(d), 10, 63)
		if err != nil {
			return Tensor{}, invalid("tensor %q: dimension %s is not a non-negative integer", name, d)
		}
		t.Shape = append(t.Shape, int(v))
		if v == 0 {
			zero = true
		}
	}
	if !zero {
		for _, d := range t.Shape {
			count *= uint64(d)
			if count > uint64(bufLen) {
				return Tensor{}, invalid("tensor %q: shape %v holds more elements than the %d-byte data buffer", name, t.Shape, bufLen)
			}
		}
	} else {
		count = 0
	}
	if len(*e.DataOffsets) != 2 {
		return Tensor{}, invalid("tensor %q: data_offsets needs 2 numbers, has %d", name, len(*e.DataOffsets))
	}
	var off [2]uint64
	for i, s := range *e.DataOffsets {
		v, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return Tensor{}, invalid("tensor %q: data offset %s is not a non-negative integer", name, s)
		}
		off[i] = v
	}
	if off[0] > off[1] || off[1] > uint64(bufLen) {
		return Tensor{}, invalid("tensor %q: data_offsets [%d, %d] outside the %d-byte data buffer", name, off[0], off[1], bufLen)
	}
	if want := count * uint64(size); off[1]-off[0] != want {
		return Tensor{}, invalid("tensor %q: data_offsets [%d, %d] span %d bytes, but %s%v needs %d", name, off[0], off[1], off[1]-off[0], t.DType, t.Shape, want)
	}
	t.Begin, t.End = int(off[0]), int(off[1])
	return t, nil
}

// Open maps (or reads) and parses the file at path.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		if unmap != nil {
			unmap(data)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap, f.mapped = unmap, data
	return f, nil
}

// ReadFile reads (without mapping) and parses the file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Close releases a mapping made by Open; slices returned by Bytes become
// invalid. It is a no-op for parsed byte slices.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap(f.mapped)
	f.unmap, f.mapped, f.data = nil, nil, nil
	return err
}

// Tensors lists the entries sorted by name.
func (f *File) Tensors() []Tensor { return f.tensors }

// Names lists the tensor names, sorted.
func (f *File) Names() []string {
	out := make([]string, len(f.tensors))
	for i := range f.tensors {
		out[i] = f.tensors[i].Name
	}
	return out
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool { _, ok := f.index[name]; return ok }

// Tensor returns the entry of a name.
func (f *File) Tensor(name string) (Tensor, error) {
	i, ok := f.index[name]
	if !ok {
		return Tensor{}, fmt.Errorf("safetensors: %q: %w", name, ErrNotFound)
	}
	return f.tensors[i], nil
}

// Bytes returns a tensor's raw little-endian bytes (aliasing the file).
func (f *File) Bytes(name string) ([]byte, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	return f.data[t.Begin:t.End:t.End], nil
}

// Float32 returns a copy of a tensor's values converted to float32. F32,
// F16, BF16 and F64 convert as floats (F64 rounds to nearest); integer and
// BOOL types convert by value (large 64-bit integers round).
func (f *File) Float32(name string) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	return decode(t, f.data[t.Begin:t.End])
}

// Float32Shape is Float32 that also checks the tensor's shape.
func (f *File) Float32Shape(name string, shape ...int) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("safetensors: tensor %q has shape %v, want %v", name, t.Shape, shape)
	}
	return decode(t, f.data[t.Begin:t.End])
}

func decode(t Tensor, b []byte) ([]float32, error) {
	n := t.NumElements()
	out := make([]float32, n)
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = HalfToFloat32(le.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	case I64:
		for i := range out {
			out[i] = float32(int64(le.Uint64(b[8*i:])))
		}
	case I32:
		for i := range out {
			out[i] = float32(int32(le.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = float32(int16(le.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = float32(int8(b[i]))
		}
	case U64:
		for i := range out {
			out[i] = float32(le.Uint64(b[8*i:]))
		}
	case U32:
		for i := range out {
			out[i] = float32(le.Uint32(b[4*i:]))
		}
	case U16:
		for i := range out {
			out[i] = float32(le.Uint16(b[2*i:]))
		}
	case U8:
		for i := range out {
			out[i] = float32(b[i])
		}
	case BOOL:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert %s to float32", t.Name, t.DType)
	}
	return out, nil
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32 (exactly).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: normalise.
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}
