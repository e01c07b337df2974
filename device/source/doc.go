// Package source feeds slices into the ring from places other than the
// DICOM SCP. Folder watches a directory by polling on an injected clock —
// no inotify, so it works on network mounts and in containers — and hands
// each finished file to a Sink once (RingSink puts it into a ring.Ring as
// a ring.File slice).
//
// A file is finished when a sidecar NAME.done exists, or when its size and
// modification time have not changed for StableTicks polls; files that
// appear by rename and files still being copied in are both safe. Each file
// is claimed by renaming it into .processing/, then moved to .processed/
// (accepted) or .failed/ (refused, too large, interrupted by a restart),
// so none is delivered twice; every move is logged.
//
// StoreHandler is the dimse.Server Handler that puts received C-STOREs
// into a ring: with the Block policy a full ring holds the sender back,
// and anything the ring refuses is answered 0xA700 so the sender retries.
package source
