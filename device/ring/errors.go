package ring

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns matches one of them
// (or a context error) with errors.Is.
var (
	// ErrConfig: New was given an invalid capacity, slot size, policy or
	// option.
	ErrConfig = errors.New("ring: invalid configuration")
	// ErrClosed: Put after Close, or Next once the closed ring is drained.
	ErrClosed = errors.New("ring: closed")
	// ErrTooLarge: a slice does not fit a slot. See TooLargeError.
	ErrTooLarge = errors.New("ring: slice larger than a slot")
	// ErrSpill: the spill directory cannot be written or read.
	ErrSpill = errors.New("ring: spill failed")
	// ErrSpillFile: a spill file is malformed (see DecodeSpill).
	ErrSpillFile = errors.New("ring: malformed spill file")
	// ErrRelease: Release was given a slice that no worker holds.
	ErrRelease = errors.New("ring: bad release")
)

// TooLargeError reports a slice bigger than the ring's slots.
// It unwraps to ErrTooLarge.
type TooLargeError struct {
	Name      string
	Size, Max int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("ring: slice %q of %d bytes exceeds the slot size of %d", e.Name, e.Size, e.Max)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }
