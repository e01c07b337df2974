package dicom

import (
	"crypto/rand"
	"math/big"
)

// Implementation identity written to every file meta (0002,0012/0013).
const (
	ImplementationClassUID    = "2.25.234705274584987247561800637816921164532"
	ImplementationVersionName = "LSMS_EDGE_1"
)

// NewUID returns a fresh UID of the form "2.25.<decimal>", the decimal
// being a random (version 4) UUID read as a 128-bit unsigned integer
// (PS3.5 §B.2). At most 44 characters.
func NewUID() string {
	var b [16]byte
	rand.Read(b[:])         // never fails (crypto/rand, Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(b[:]).String()
}
