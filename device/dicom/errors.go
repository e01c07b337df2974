package dicom

import (
	"errors"
	"fmt"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (test with errors.Is); the typed errors below carry the details.
var (
	// ErrUnsupportedTransferSyntax: the data is encoded in a transfer
	// syntax this package cannot decode (any compressed or deflated one).
	// Wrapped by *TransferSyntaxError.
	ErrUnsupportedTransferSyntax = errors.New("unsupported transfer syntax")
	// ErrMalformed: the byte stream is not well-formed DICOM (truncated,
	// lengths that do not fit, broken sequences, a library panic).
	ErrMalformed = errors.New("malformed DICOM")
	// ErrTooLarge: the input or the image exceeds a safety limit
	// (MaxInputBytes, MaxRows×MaxCols, nesting depth, element count).
	ErrTooLarge = errors.New("DICOM input too large")
	// ErrMissingAttribute: a required attribute is absent or empty.
	// Wrapped by *AttributeError.
	ErrMissingAttribute = errors.New("missing required attribute")
	// ErrInvalidAttribute: an attribute holds a value this package cannot
	// use. Wrapped by *AttributeError.
	ErrInvalidAttribute = errors.New("invalid attribute")
	// ErrNotCT: the object is not a single-frame CT Image Storage
	// instance. Wrapped by *AttributeError.
	ErrNotCT = errors.New("not a CT image")
	// ErrPixelDataLength: Pixel Data does not hold Rows×Columns samples.
	ErrPixelDataLength = errors.New("pixel data length mismatch")
	// ErrInvalidSlice: a *Slice handed to a writer is inconsistent.
	ErrInvalidSlice = errors.New("invalid slice")
	// ErrInvalidMask: masks handed to WriteSEG do not match the slices.
	ErrInvalidMask = errors.New("invalid segmentation mask")
	// ErrEmptySegmentation: no mask has any foreground pixel and
	// SEGOptions.IncludeEmptyFrames is false, so there is no frame to write.
	ErrEmptySegmentation = errors.New("segmentation has no foreground")
	// ErrInvalidOptions: a SEGOptions field is missing or not encodable.
	ErrInvalidOptions = errors.New("invalid SEG options")
)

// TransferSyntaxError reports a transfer syntax that cannot be decoded.
// It wraps ErrUnsupportedTransferSyntax.
type TransferSyntaxError struct {
	UID  string // as found in the file meta or given by the caller
	Name string // e.g. "JPEG 2000 Image Compression"; "unknown" if not a known UID
}

func (e *TransferSyntaxError) Error() string {
	return fmt.Sprintf("dicom: unsupported transfer syntax %s (%s): only Implicit VR Little Endian, Explicit VR Little Endian and Explicit VR Big Endian can be decoded", e.UID, e.Name)
}

func (e *TransferSyntaxError) Unwrap() error { return ErrUnsupportedTransferSyntax }

func transferSyntaxError(ts string) error {
	name := "unknown"
	if info, err := uid.Lookup(ts); err == nil {
		name = info.Name
		if info.Type != uid.TypeTransferSyntax {
			name += ", not a transfer syntax"
		}
	}
	return &TransferSyntaxError{UID: ts, Name: name}
}

// AttributeError names the attribute at fault. It wraps
// ErrMissingAttribute, ErrInvalidAttribute or ErrNotCT.
type AttributeError struct {
	Tag     tag.Tag
	Keyword string // e.g. "PixelSpacing"
	Problem string // e.g. `value "abc" is not a number`
	Err     error  // the sentinel
}

func (e *AttributeError) Error() string {
	s := fmt.Sprintf("dicom: %v %s (%04X,%04X)", e.Err, e.Keyword, e.Tag.Group, e.Tag.Element)
	if e.Problem != "" {
		s += ": " + e.Problem
	}
	return s
}

func (e *AttributeError) Unwrap() error { return e.Err }

func attrErr(t tag.Tag, sentinel error, format string, args ...any) error {
	keyword := fmt.Sprintf("(%04X,%04X)", t.Group, t.Element)
	if info, err := tag.Find(t); err == nil {
		keyword = info.Keyword
	}
	return &AttributeError{Tag: t, Keyword: keyword, Problem: fmt.Sprintf(format, args...), Err: sentinel}
}

func missing(t tag.Tag) error { return attrErr(t, ErrMissingAttribute, "") }

// sliceErr reports a problem with a *Slice given to a writer.
func sliceErr(format string, args ...any) error {
	return fmt.Errorf("dicom: %w: "+format, append([]any{ErrInvalidSlice}, args...)...)
}
