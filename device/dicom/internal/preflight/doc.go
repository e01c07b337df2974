// Package preflight walks the element structure of a DICOM byte stream
// before github.com/suyashkumar/dicom v1.1.0 is allowed to parse it.
//
// The library trusts every value length it reads: it allocates
// make([]byte, length) before reading a value (up to 4 GiB for a lying
// 32-bit length), recurses into nested sequences without a depth limit
// (a deep nesting overflows the goroutine stack, which cannot be
// recovered), and builds one Go value per element (millions of tiny
// elements multiply the input size many times over). Check walks the
// same structure the library will walk, with the same rules for reading
// tags, value representations and lengths, and rejects the input unless
//
//   - every value length fits in the bytes left in its enclosing
//     container (the input, a defined-length sequence or item),
//   - nesting of sequences and items stays within Limits.MaxDepth,
//   - the number of elements and items stays within Limits.MaxElements,
//   - the value bytes of everything but Pixel Data stay within
//     Limits.MaxValueBytes,
//   - each defined-length sequence holds only items (the library panics
//     otherwise) and each undefined-length one ends with its delimiter.
//
// Check is stricter than the library where the library tolerates
// malformed structure (for example a stray tag in encapsulated pixel
// data); input it accepts is walked by the library exactly as Check
// walked it, so every allocation the library makes is bounded by bytes
// that are actually present.
//
// Meta reads the Part 10 preamble and file meta group (always explicit VR
// little endian) and returns the transfer syntax UID and where the data
// set starts.
package preflight
