package preflight

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// ErrMalformed is wrapped by every error about input whose structure is
// broken or that the library would mis-handle.
var ErrMalformed = errors.New("malformed DICOM structure")

// ErrLimit is wrapped by every error about input that exceeds one of the
// Limits.
var ErrLimit = errors.New("DICOM input exceeds a safety limit")

// undefinedLength is the DICOM value length FFFFFFFFH.
const undefinedLength = 0xFFFFFFFF

// Syntax is the byte-level encoding of a data set.
type Syntax struct {
	BigEndian bool
	Implicit  bool
}

// String names the syntax, e.g. "explicit VR little endian".
func (s Syntax) String() string {
	vr, bo := "explicit", "little"
	if s.Implicit {
		vr = "implicit"
	}
	if s.BigEndian {
		bo = "big"
	}
	return vr + " VR " + bo + " endian"
}

func (s Syntax) byteOrder() binary.ByteOrder {
	if s.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Limits bounds what Check accepts.
type Limits struct {
	// MaxDepth is the deepest nesting of sequences and items; a top-level
	// sequence holding items is depth 2.
	MaxDepth int
	// MaxElements bounds the number of elements, items, delimiters and
	// encapsulated fragments together.
	MaxElements int
	// MaxValueBytes bounds the summed value lengths of all elements other
	// than Pixel Data (7FE0,0010).
	MaxValueBytes int64
}

// DefaultLimits suits single CT slices: real headers are well under
// 100 KiB, nest at most a handful of levels and hold a few thousand
// elements.
var DefaultLimits = Limits{MaxDepth: 24, MaxElements: 100_000, MaxValueBytes: 4 << 20}

// Error describes where and why Check rejected the input. It wraps
// ErrMalformed or ErrLimit.
type Error struct {
	Offset int     // byte offset of the element (or item) at fault
	Tag    tag.Tag // its tag, when one was read
	HasTag bool
	Reason string
	Err    error // ErrMalformed or ErrLimit
}

func (e *Error) Error() string { return fmt.Sprintf("%v: %s", e.Err, e.Detail()) }

// Detail is the message without the sentinel's text.
func (e *Error) Detail() string {
	if e.HasTag {
		return fmt.Sprintf("element (%04X,%04X) at offset %d: %s", e.Tag.Group, e.Tag.Element, e.Offset, e.Reason)
	}
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Element is one element header as the library reads it.
type Element struct {
	Tag      tag.Tag
	VR       string
	Length   uint32 // value length; 0xFFFFFFFF is undefined
	Offset   int    // offset of the tag
	ValueAt  int    // offset of the value
	Next     int    // offset just past the element (value, items and delimiter)
	Depth    int
	Implicit bool // VR came from the dictionary, not the stream
}

// walker walks one buffer under one syntax.
type walker struct {
	buf      []byte
	bo       binary.ByteOrder
	implicit bool
	lim      Limits
	elements int
	values   int64
	visit    func(Element)
}

func (w *walker) fail(off int, t *tag.Tag, sentinel error, format string, args ...any) error {
	e := &Error{Offset: off, Reason: fmt.Sprintf(format, args...), Err: sentinel}
	if t != nil {
		e.Tag, e.HasTag = *t, true
	}
	return e
}

func (w *walker) count(off int, t *tag.Tag) error {
	w.elements++
	if w.elements > w.lim.MaxElements {
		return w.fail(off, t, ErrLimit, "more than %d elements", w.lim.MaxElements)
	}
	return nil
}

// header reads tag, VR and value length at pos exactly as the library's
// reader.readElement does, without reading past end.
func (w *walker) header(pos, end int) (Element, error) {
	e := Element{Offset: pos}
	if end-pos < 4 {
		return e, w.fail(pos, nil, ErrMalformed, "truncated element tag: %d bytes left", end-pos)
	}
	e.Tag = tag.Tag{Group: w.bo.Uint16(w.buf[pos:]), Element: w.bo.Uint16(w.buf[pos+2:])}
	pos += 4
	if err := w.count(e.Offset, &e.Tag); err != nil {
		return e, err
	}
	e.Implicit = w.implicit || e.Tag == tag.Item
	if e.Implicit {
		e.VR = implicitVR(e.Tag)
		if end-pos < 4 {
			return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "truncated value length")
		}
		e.Length = w.bo.Uint32(w.buf[pos:])
		e.ValueAt = pos + 4
		return e, nil
	}
	if end-pos < 2 {
		return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "truncated VR")
	}
	b0, b1 := w.buf[pos], w.buf[pos+1]
	pos += 2
	switch {
	case 'A' <= b0 && b0 <= 'Z' && 'A' <= b1 && b1 <= 'Z':
		e.VR = string([]byte{b0, b1})
	case b0 == 0 && b1 == 0 && e.Tag.Group == tag.GroupSeqItem:
		// Delimitation items in explicit VR: the library reads the first
		// half of their zero length as the VR.
		e.VR = "\x00\x00"
	default:
		return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "invalid VR bytes %#02x %#02x", b0, b1)
	}
	if longLength(e.VR) {
		if end-pos < 6 {
			return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "truncated value length")
		}
		e.Length = w.bo.Uint32(w.buf[pos+2:])
		e.ValueAt = pos + 6
		if e.Length == undefinedLength && (e.VR == "UC" || e.VR == "UR" || e.VR == "UT") {
			return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "VR %s may not have undefined length", e.VR)
		}
		return e, nil
	}
	if end-pos < 2 {
		return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "truncated value length")
	}
	e.Length = uint32(w.bo.Uint16(w.buf[pos:]))
	if e.Length == 0xFFFF {
		e.Length = undefinedLength // the library's "rectification"
	}
	e.ValueAt = pos + 2
	return e, nil
}

// implicitVR mirrors reader.readVR for implicit syntaxes.
func implicitVR(t tag.Tag) string {
	info, err := tag.Find(t)
	if err != nil {
		return tag.UnknownVR
	}
	if t == tag.PixelData || t == tag.OverlayData {
		return "OW"
	}
	return info.VRs[0]
}

// longLength reports whether an explicit VR has a 2-byte reserved field
// and a 4-byte length, per the library's reader.readVL.
func longLength(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// element walks one element at pos (not past end) and returns it with
// Next set.
func (w *walker) element(pos, end, depth int) (Element, error) {
	e, err := w.header(pos, end)
	if err != nil {
		return e, err
	}
	e.Depth = depth
	left := end - e.ValueAt
	switch kind := tag.GetVRKind(e.Tag, e.VR); kind {
	case tag.VRItem:
		e.Next, err = w.item(e, end, depth+1)
	case tag.VRSequence:
		e.Next, err = w.sequence(e, end, depth+1)
	case tag.VRUnknown:
		if e.Length == undefinedLength {
			e.Next, err = w.sequence(e, end, depth+1)
		} else {
			e.Next, err = w.value(e, left, true)
		}
	case tag.VRBytes:
		if e.Length == undefinedLength {
			e.Next, err = w.fragments(e, end, false)
		} else {
			e.Next, err = w.value(e, left, true)
		}
	case tag.VRPixelData:
		if e.Length == undefinedLength {
			e.Next, err = w.fragments(e, end, true)
		} else {
			e.Next, err = w.value(e, left, false)
		}
	default:
		// Strings, dates, numbers: the library either rejects an undefined
		// length or allocates it, so both it and an overlong length are
		// errors here.
		e.Next, err = w.value(e, left, true)
	}
	if err != nil {
		return e, err
	}
	if depth == 0 && e.Tag == tag.SpecificCharacterSet {
		// The library decodes this one during parsing and panics unless
		// it holds strings.
		if k := tag.GetVRKind(e.Tag, e.VR); k != tag.VRStringList && k != tag.VRString {
			return e, w.fail(e.Offset, &e.Tag, ErrMalformed, "Specific Character Set has non-string VR %q", e.VR)
		}
	}
	if w.visit != nil {
		w.visit(e)
	}
	return e, nil
}

// value checks a plain value of e.Length bytes.
func (w *walker) value(e Element, left int, counted bool) (int, error) {
	if e.Length == undefinedLength {
		return 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "undefined length is not allowed for VR %q", e.VR)
	}
	if int64(e.Length) > int64(left) {
		return 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "value length %d exceeds the %d bytes left", e.Length, left)
	}
	if counted {
		w.values += int64(e.Length)
		if w.values > w.lim.MaxValueBytes {
			return 0, w.fail(e.Offset, &e.Tag, ErrLimit, "non-pixel values exceed %d bytes", w.lim.MaxValueBytes)
		}
	}
	return e.ValueAt + int(e.Length), nil
}

func (w *walker) deeper(e Element, depth int) error {
	if depth > w.lim.MaxDepth {
		return w.fail(e.Offset, &e.Tag, ErrLimit, "sequences nested deeper than %d levels", w.lim.MaxDepth)
	}
	return nil
}

// sequence mirrors reader.readSequence.
func (w *walker) sequence(e Element, end, depth int) (int, error) {
	if err := w.deeper(e, depth); err != nil {
		return 0, err
	}
	pos := e.ValueAt
	if e.Length == undefinedLength {
		for {
			sub, err := w.element(pos, end, depth)
			if err != nil {
				return 0, err
			}
			pos = sub.Next
			if sub.Tag == tag.SequenceDelimitationItem {
				return pos, nil
			}
			if sub.Tag != tag.Item {
				return 0, w.fail(sub.Offset, &sub.Tag, ErrMalformed, "non-item element inside sequence (%04X,%04X)", e.Tag.Group, e.Tag.Element)
			}
		}
	}
	if int64(e.Length) > int64(end-pos) {
		return 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "sequence length %d exceeds the %d bytes left", e.Length, end-pos)
	}
	stop := pos + int(e.Length)
	for pos < stop {
		sub, err := w.element(pos, stop, depth)
		if err != nil {
			return 0, err
		}
		if sub.Tag != tag.Item {
			// The library type-asserts every element of a defined-length
			// sequence to an item and panics otherwise.
			return 0, w.fail(sub.Offset, &sub.Tag, ErrMalformed, "non-item element inside sequence (%04X,%04X)", e.Tag.Group, e.Tag.Element)
		}
		pos = sub.Next
	}
	return stop, nil
}

// item mirrors reader.readSequenceItem.
func (w *walker) item(e Element, end, depth int) (int, error) {
	if err := w.deeper(e, depth); err != nil {
		return 0, err
	}
	pos := e.ValueAt
	if e.Length == undefinedLength {
		for {
			sub, err := w.element(pos, end, depth)
			if err != nil {
				return 0, err
			}
			pos = sub.Next
			if sub.Tag == tag.ItemDelimitationItem {
				return pos, nil
			}
		}
	}
	if int64(e.Length) > int64(end-pos) {
		return 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "item length %d exceeds the %d bytes left", e.Length, end-pos)
	}
	stop := pos + int(e.Length)
	for pos < stop {
		sub, err := w.element(pos, stop, depth)
		if err != nil {
			return 0, err
		}
		pos = sub.Next
	}
	return stop, nil
}

// fragments mirrors the item loops of reader.readPixelData (pixel: the
// first item is the basic offset table) and
// reader.readUndefinedLengthByteValue. It is stricter than the library:
// every fragment must be an item of defined length, and the list must end
// with a sequence delimitation item.
func (w *walker) fragments(e Element, end int, pixel bool) (int, error) {
	pos := e.ValueAt
	for first := true; ; first = false {
		if end-pos < 8 {
			return 0, w.fail(pos, &e.Tag, ErrMalformed, "encapsulated value ends without a sequence delimitation item")
		}
		t := tag.Tag{Group: w.bo.Uint16(w.buf[pos:]), Element: w.bo.Uint16(w.buf[pos+2:])}
		length := w.bo.Uint32(w.buf[pos+4:])
		if err := w.count(pos, &t); err != nil {
			return 0, err
		}
		switch {
		case t == tag.SequenceDelimitationItem && !(pixel && first):
			if length != 0 {
				return 0, w.fail(pos, &t, ErrMalformed, "sequence delimitation item with length %d", length)
			}
			return pos + 8, nil
		case t != tag.Item:
			return 0, w.fail(pos, &t, ErrMalformed, "expected an item in encapsulated value of (%04X,%04X)", e.Tag.Group, e.Tag.Element)
		case length == undefinedLength:
			return 0, w.fail(pos, &t, ErrMalformed, "encapsulated fragment has undefined length")
		case int64(length) > int64(end-pos-8):
			return 0, w.fail(pos, &t, ErrMalformed, "fragment length %d exceeds the %d bytes left", length, end-pos-8)
		}
		if !pixel {
			w.values += int64(length)
			if w.values > w.lim.MaxValueBytes {
				return 0, w.fail(pos, &t, ErrLimit, "non-pixel values exceed %d bytes", w.lim.MaxValueBytes)
			}
		}
		pos += 8 + int(length)
	}
}

// Check walks a whole data set (no preamble, no file meta) encoded in
// syntax s, as the library's Parse would, and reports the first problem.
// visit, if not nil, is called for every element after its value was
// walked (nested elements before their enclosing one).
func Check(data []byte, s Syntax, lim Limits, visit func(Element)) error {
	w := &walker{buf: data, bo: s.byteOrder(), implicit: s.Implicit, lim: lim, visit: visit}
	for pos := 0; pos < len(data); {
		e, err := w.element(pos, len(data), 0)
		if err != nil {
			return err
		}
		pos = e.Next
	}
	return nil
}

// Preamble is the length of the Part 10 preamble plus "DICM".
const Preamble = 132

// HasPreamble reports whether data starts with a 128-byte preamble and
// the "DICM" prefix.
func HasPreamble(data []byte) bool {
	return len(data) >= Preamble && string(data[128:Preamble]) == "DICM"
}

// Meta reads the file meta group of a Part 10 file (HasPreamble must be
// true): the group length element, then exactly that many bytes of
// explicit VR little endian elements, which must include the Transfer
// Syntax UID (0002,0010). It returns that UID and the offset of the data
// set.
func Meta(data []byte, lim Limits) (transferSyntax string, datasetAt int, err error) {
	if !HasPreamble(data) {
		return "", 0, &Error{Offset: 128, Reason: `no "DICM" prefix after the 128-byte preamble`, Err: ErrMalformed}
	}
	w := &walker{buf: data, bo: binary.LittleEndian, lim: lim}
	first, err := w.element(Preamble, len(data), 0)
	if err != nil {
		return "", 0, err
	}
	if first.Tag != tag.FileMetaInformationGroupLength || first.VR != "UL" || first.Length != 4 {
		return "", 0, w.fail(first.Offset, &first.Tag, ErrMalformed, "file meta must start with File Meta Information Group Length (0002,0000) UL of length 4")
	}
	metaLen := binary.LittleEndian.Uint32(data[first.ValueAt:])
	if int64(metaLen) > int64(len(data)-first.Next) {
		return "", 0, w.fail(first.Offset, &first.Tag, ErrMalformed, "file meta group length %d exceeds the %d bytes left", metaLen, len(data)-first.Next)
	}
	stop := first.Next + int(metaLen)
	found := false
	for pos := first.Next; pos < stop; {
		e, err := w.element(pos, stop, 0)
		if err != nil {
			return "", 0, err
		}
		if e.Tag == tag.TransferSyntaxUID {
			if found {
				return "", 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "duplicate Transfer Syntax UID")
			}
			if e.VR != "UI" {
				return "", 0, w.fail(e.Offset, &e.Tag, ErrMalformed, "Transfer Syntax UID has VR %q, want UI", e.VR)
			}
			transferSyntax = strings.Trim(string(data[e.ValueAt:e.Next]), " \x00")
			found = true
		}
		pos = e.Next
	}
	if !found {
		return "", 0, &Error{Offset: first.Next, Reason: "file meta has no Transfer Syntax UID (0002,0010)", Err: ErrMalformed}
	}
	if strings.Contains(transferSyntax, `\`) {
		return "", 0, &Error{Offset: first.Next, Reason: fmt.Sprintf("Transfer Syntax UID %q has more than one value", transferSyntax), Err: ErrMalformed}
	}
	return transferSyntax, stop, nil
}
