// Package npy reads and writes NumPy .npy files.
//
// Supported: format versions 1.0, 2.0 and 3.0 on read (1.0 on write, 2.0
// only when a header does not fit 1.0), C order, little-endian, and these
// element types:
//
//	DType      descr   Go slice in Array.Data
//	"float32"  <f4     []float32
//	"float16"  <f2     []uint16 (raw IEEE 754 half bits)
//	"float64"  <f8     []float64
//	"int8"     |i1     []int8
//	"uint8"    |u1     []uint8
//	"int16"    <i2     []int16
//	"int32"    <i4     []int32
//	"int64"    <i8     []int64
//	"bool"     |b1     []bool
//
// Anything else (Fortran order, big-endian, structured or object dtypes,
// a malformed header, a shape whose byte size overflows, truncated data,
// bytes after the data) is an error naming the problem; the reader never
// panics and allocates in proportion to the bytes actually present, not to
// what the header claims.
//
// Read consumes exactly one array and then requires end of input; a file
// holding several concatenated arrays is rejected as trailing data.
package npy
