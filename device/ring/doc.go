// Package ring is the bounded queue between slice sources (the DICOM SCP,
// a watched folder) and the inference workers: a fixed number of
// preallocated slots, each holding one slice's bytes and its Meta, so that
// steady-state ingest allocates nothing per slice.
//
// Producers call Put, which copies the bytes into a free slot. Workers call
// Next for the oldest queued slice and Release when done with it. When all
// slots are taken, the Policy decides:
//
//   - Block: Put waits (backpressure: a DIMSE Handler blocked in Put keeps
//     the sender waiting for its C-STORE-RSP).
//   - DropOldest: the oldest queued slice is dropped, counted and logged
//     with its sequence number, source and name.
//   - Spill: the slice is written to a spill directory (temporary file,
//     fsync, rename) and re-ingested, oldest first, as slots free. Spilled
//     slices survive a restart: New recovers them.
//
// Every slice Put accepts is processed, or counted and logged as dropped:
// Stats keeps Received = Processed + Dropped + queued + in flight + spill
// backlog. Close stops Put; workers keep getting queued and spilled slices
// until Next returns ErrClosed.
package ring
