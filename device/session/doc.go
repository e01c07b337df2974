// Package session runs the scanner-to-mask pipeline on an edge box: slices
// arrive from a source (the DICOM SCP, a watched folder) into a ring.Ring;
// N workers take them out, segment each one for its series' referring
// expression, measure the lesions (package measure) and draw an overlay;
// when a series is complete its results are written: a JSON report and a
// DICOM Segmentation referencing the source series, optionally sent on to
// a PACS with C-STORE.
//
// # Model
//
// The model sits behind Segmenter, defined here so that device/ does not
// depend on model/: Segment gets one CT slice in Hounsfield units at its
// native size and an expression, and returns a probability map and/or a
// binary mask of the same size (a nil mask is made by thresholding the
// probabilities at Config.Threshold). Segment is called from Config.Workers
// goroutines at once. Threshold is a diagnostic Segmenter (HU window, no
// model) for wiring tests; package sessiontest has test segmenters.
//
// # Expressions
//
// Every series is segmented for one expression, fixed when its first slice
// is taken: Config.Expressions[SeriesInstanceUID] if present, else what
// Config.ExpressionFor returns (the watch command reads a sidecar
// expression.txt), else Config.Expression. A series with none is reported
// with every slice failed. ParseExpressionMap reads override files.
//
// # Series
//
// Slices are grouped by Series Instance UID. A series is complete when no
// slice of it has been taken for Config.SeriesIdle (on Config.Clock) while
// nothing is waiting in the ring — or for 10 × SeriesIdle whatever the ring
// holds — or on Flush, or when Run ends (the ring was closed and drained).
// A slice that arrives after its series was written starts a new part,
// whose outputs carry the part number. A SOP instance received twice in
// one part replaces the earlier result and is counted as a duplicate.
//
// # Outputs
//
// Under Config.Out, per series (directory named by the Series Instance
// UID, characters outside [0-9A-Za-z._-] replaced by "_"):
//
//	report.json            Report: per-slice lesions (area, longest
//	                       diameter, centroid), series volume (mL), failures,
//	                       SEG and forward outcome, latencies, counters
//	seg.dcm                DICOM SEG (only when some slice has a lesion)
//	overlays/NNNN_UID.png  window/level image, mask tinted, outline drawn
//
// and session.json (Summary), rewritten after every series and at the end.
// Part k > 1 writes report-k.json and seg-k.dcm. Every file is written
// atomically (temporary file, fsync, rename, directory fsync).
//
// # Accounting
//
// Nothing is lost silently. The ring counts every slice it accepted as
// processed (released by a worker) or dropped (DropOldest); a processed
// slice is segmented or failed (unreadable DICOM, segmenter error,
// no expression), each failure reported with its reason in its series'
// report or, when the slice could not be read, in session.json. Slices
// put through StoreHandler or FolderSink are stamped on arrival, so the
// summary also names the ones the ring dropped, and latency is measured
// from arrival to the end of the slice's outputs. After Run, Summary.Balanced
// says whether Received = Processed + Dropped and Processed = Segmented +
// Failed held.
//
// # Shutdown
//
// Run returns once the ring is closed and drained (close it after stopping
// the sources), having finalized every open series. Cancelling Run's
// context instead abandons what is still queued (reported as unprocessed
// in the summary; with the Spill policy, spilled slices survive on disk).
package session
