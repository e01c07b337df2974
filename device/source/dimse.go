package source

import (
	"context"
	"errors"
	"log/slog"

	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/ring"
)

// StoreHandler returns a dimse.Server Handler that puts each received
// C-STORE into r as a ring.DataSet slice (Source "dimse:" + calling AE).
// With the Block policy a full ring blocks the handler, so the sender waits
// for its C-STORE-RSP (backpressure). A closed ring, a cancelled context,
// a failed spill or an object larger than a slot is answered with
// StatusOutOfResources (0xA700), so the sender knows to retry: nothing is
// lost silently. log may be nil.
func StoreHandler(r *ring.Ring, log *slog.Logger) func(context.Context, *dimse.StoreRequest) dimse.Status {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, req *dimse.StoreRequest) dimse.Status {
		err := r.Put(ctx, ring.Meta{
			Source:            "dimse:" + req.CallingAE,
			Format:            ring.DataSet,
			Name:              req.SOPInstanceUID,
			SOPClassUID:       req.SOPClassUID,
			SOPInstanceUID:    req.SOPInstanceUID,
			TransferSyntaxUID: req.TransferSyntaxUID,
		}, req.Data)
		if err == nil {
			return dimse.StatusSuccess
		}
		level := slog.LevelWarn
		if errors.Is(err, ring.ErrTooLarge) || errors.Is(err, ring.ErrSpill) {
			level = slog.LevelError
		}
		log.Log(ctx, level, "source: C-STORE refused, sender told to retry", "calling", req.CallingAE,
			"sop_instance", req.SOPInstanceUID, "bytes", len(req.Data), "err", err)
		return dimse.StatusOutOfResources
	}
}
