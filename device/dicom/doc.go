// Package dicom reads CT slices as Hounsfield units and writes CT images
// and DICOM Segmentation (SEG) objects, on top of
// github.com/suyashkumar/dicom v1.1.0.
//
// # Reading
//
// ReadCT, ReadFile and ParsePayload return a *Slice: HU pixels (stored
// value × RescaleSlope + RescaleIntercept, rounded, clamped to int16) plus
// geometry and identification. They accept single-frame CT Image Storage
// objects in the uncompressed transfer syntaxes (implicit VR little
// endian, explicit VR little endian, explicit VR big endian). Anything
// else is an error naming the problem, never a panic:
//
//   - a compressed or deflated transfer syntax (JPEG, JPEG-LS, JPEG 2000,
//     RLE, deflate, …): *TransferSyntaxError, wrapping
//     ErrUnsupportedTransferSyntax, with the UID and its name;
//   - a missing or unusable attribute: *AttributeError naming the tag,
//     wrapping ErrMissingAttribute or ErrInvalidAttribute (ErrNotCT for
//     another SOP class or a multi-frame object);
//   - Rows or Columns above MaxRows/MaxCols, input above MaxInputBytes:
//     ErrTooLarge; Pixel Data not holding Rows×Columns×2 bytes:
//     ErrPixelDataLength;
//   - broken structure: ErrMalformed.
//
// Decoding pixel values is done here, not by the library: v1.1.0 ignores
// Pixel Representation (signed CT comes back as []uint16), so the raw
// bytes are read with the data set's byte order, masked to Bits Stored and
// sign-extended when Pixel Representation is 1.
//
// Before the library sees any input, an internal preflight walk checks
// every element length against the bytes actually present, the nesting
// depth, the element count and the total header size (v1.1.0 allocates
// whatever a length field claims and recurses without limit); a panic in
// the library is recovered and reported as ErrMalformed. Data sets are
// always handed to the library behind a synthetic file meta header that
// states the transfer syntax, so C-STORE payloads of any size parse (the
// library's own syntax guess needs at least 100 bytes).
//
// # Writing
//
// WriteCT writes a CT Image Storage file (signed 16-bit, slope 1,
// intercept 0) and Series hands out consistent UIDs, positions and
// instance numbers for a synthetic series. WriteSEG writes a BINARY
// Segmentation of one segment referencing its source slices. Both write
// explicit VR little endian Part 10 files with full file meta
// (Implementation Class UID ImplementationClassUID), elements sorted by
// tag, through a temporary file that is synced and renamed into place.
// Bad writer input is ErrInvalidSlice, ErrInvalidMask, ErrInvalidOptions
// or ErrEmptySegmentation, and leaves no file behind.
//
// SEG Pixel Data is packed here (LSB first, contiguous across frames) and
// written as raw OB bytes: v1.1.0 cannot encode 1-bit pixels and decodes
// them MSB first, so it must not be used to check them.
//
// The files are checked in the tests with dicom3tools' dciodvfy and
// DCMTK's dcmdump when those are installed (Debian packages dicom3tools
// and dcmtk; LSMS_REQUIRE_DICOM_TOOLS=1 makes their absence a failure).
//
// New UIDs are "2.25." followed by a random UUID as a decimal number.
package dicom
