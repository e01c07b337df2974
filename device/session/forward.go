package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/dimse"
)

// Defaults of Forward fields.
const (
	DefaultForwardAttempts = 3
	DefaultForwardBackoff  = 2 * time.Second
	DefaultForwardTimeout  = 60 * time.Second
	DefaultCallingAE       = "LSMS"
)

// ErrForwardSpec: a --forward value is not AET@host:port.
var ErrForwardSpec = errors.New("session: bad forward destination")

// ErrPart10: a file is not a DICOM Part 10 file this package can send.
var ErrPart10 = errors.New("session: not a usable DICOM Part 10 file")

// Forward sends SEGs to a PACS (a Storage SCP) with C-STORE.
type Forward struct {
	Addr      string // host:port
	CalledAE  string // the PACS's AE title
	CallingAE string // ours; default "LSMS"
	// Attempts per SEG (default 3), Backoff before the second (doubled
	// after each; default 2 s, on Config.Clock), Timeout per attempt
	// (default 60 s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
}

// String returns AET@host:port.
func (f Forward) String() string { return f.CalledAE + "@" + f.Addr }

// ParseForward parses "AET@host:port" (an IPv6 host in brackets).
func ParseForward(spec string) (Forward, error) {
	ae, addr, ok := strings.Cut(spec, "@")
	if !ok {
		return Forward{}, fmt.Errorf("%w %q: want AET@host:port", ErrForwardSpec, spec)
	}
	f := Forward{CalledAE: ae, Addr: addr}
	if err := f.check(); err != nil {
		return Forward{}, fmt.Errorf("%w %q: %v", ErrForwardSpec, spec, err)
	}
	return f, nil
}

// CheckAETitle checks an AE title: 1 to 16 printable ASCII characters,
// no backslash, no leading or trailing space.
func CheckAETitle(ae string) error { return checkAE("AE title", ae) }

func checkAE(what, ae string) error {
	if ae == "" || len(ae) > 16 || strings.TrimSpace(ae) != ae {
		return fmt.Errorf("%s %q: want 1 to 16 characters without leading or trailing spaces", what, ae)
	}
	for _, c := range []byte(ae) {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return fmt.Errorf("%s %q: printable ASCII only, no backslash", what, ae)
		}
	}
	return nil
}

func (f Forward) check() error {
	if err := checkAE("AE title", f.CalledAE); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(f.Addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", f.Addr, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: no host", f.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address %q: port %q outside 1..65535", f.Addr, port)
	}
	return nil
}

func (f Forward) withDefaults() (Forward, error) {
	if f.CallingAE == "" {
		f.CallingAE = DefaultCallingAE
	}
	if f.Attempts == 0 {
		f.Attempts = DefaultForwardAttempts
	}
	if f.Backoff == 0 {
		f.Backoff = DefaultForwardBackoff
	}
	if f.Timeout == 0 {
		f.Timeout = DefaultForwardTimeout
	}
	if err := f.check(); err != nil {
		return f, err
	}
	if err := checkAE("calling AE title", f.CallingAE); err != nil {
		return f, err
	}
	if f.Attempts < 0 || f.Backoff < 0 || f.Timeout < 0 {
		return f, errors.New("negative Attempts, Backoff or Timeout")
	}
	return f, nil
}

// send C-STOREs the Part 10 file at path, retrying.
func (f *Forward) send(ctx context.Context, clock clockwork.Clock, log *slog.Logger, path string) ForwardReport {
	rep := ForwardReport{To: f.String()}
	b, err := os.ReadFile(path)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	meta, err := SplitPart10(b)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	backoff := f.Backoff
	for rep.Attempts < f.Attempts {
		rep.Attempts++
		err = f.store(ctx, meta, b[meta.DataSetOffset:])
		if err == nil {
			rep.OK, rep.Error = true, ""
			log.Info("session: SEG forwarded", "to", rep.To, "sop_instance", meta.SOPInstanceUID, "attempts", rep.Attempts)
			return rep
		}
		rep.Error = err.Error()
		log.Warn("session: forwarding failed", "to", rep.To, "attempt", rep.Attempts, "of", f.Attempts, "err", err)
		if rep.Attempts == f.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			rep.Error = ctx.Err().Error()
			return rep
		case <-clock.After(backoff):
		}
		backoff *= 2
	}
	log.Error("session: SEG not forwarded", "to", rep.To, "path", path, "err", rep.Error)
	return rep
}

func (f *Forward) store(ctx context.Context, meta Part10, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	c, err := dimse.Dial(ctx, f.Addr, dimse.ClientConfig{
		CallingAE: f.CallingAE, CalledAE: f.CalledAE,
		SOPClasses:       []string{meta.SOPClassUID},
		TransferSyntaxes: []string{meta.TransferSyntaxUID},
	})
	if err != nil {
		return err
	}
	if err := c.Store(ctx, meta.SOPClassUID, meta.SOPInstanceUID, meta.TransferSyntaxUID, data); err != nil {
		c.Abort()
		return err
	}
	return c.Release(ctx)
}

// Part10 is what SplitPart10 reads from a file meta group.
type Part10 struct {
	SOPClassUID       string // Media Storage SOP Class UID (0002,0002)
	SOPInstanceUID    string // Media Storage SOP Instance UID (0002,0003)
	TransferSyntaxUID string // (0002,0010)
	DataSetOffset     int    // where the data set starts
}

// SplitPart10 reads the file meta group of a DICOM Part 10 file (128-byte
// preamble, "DICM", explicit VR little endian group 0002 led by its group
// length) so the data set after it can be sent with C-STORE.
func SplitPart10(b []byte) (Part10, error) {
	bad := func(format string, args ...any) (Part10, error) {
		return Part10{}, fmt.Errorf("%w: %s", ErrPart10, fmt.Sprintf(format, args...))
	}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return bad("no DICM prefix after a 128-byte preamble")
	}
	at := 132
	// (0002,0000) UL 4 <length>
	if len(b) < at+12 || binary.LittleEndian.Uint16(b[at:]) != 2 || binary.LittleEndian.Uint16(b[at+2:]) != 0 ||
		string(b[at+4:at+6]) != "UL" || binary.LittleEndian.Uint16(b[at+6:]) != 4 {
		return bad("file meta does not start with (0002,0000) UL File Meta Information Group Length")
	}
	glen := int64(binary.LittleEndian.Uint32(b[at+8:]))
	at += 12
	end64 := int64(at) + glen
	if end64 > int64(len(b)) {
		return bad("group length %d runs past the end of the file (%d bytes)", glen, len(b))
	}
	end := int(end64)
	var p Part10
	for at < end {
		if end-at < 8 {
			return bad("truncated element at offset %d", at)
		}
		group, elem := binary.LittleEndian.Uint16(b[at:]), binary.LittleEndian.Uint16(b[at+2:])
		if group != 2 {
			return bad("element (%04X,%04X) inside the file meta group", group, elem)
		}
		vr := string(b[at+4 : at+6])
		var n int64
		switch vr {
		case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
			if end-at < 12 {
				return bad("truncated element (0002,%04X)", elem)
			}
			n = int64(binary.LittleEndian.Uint32(b[at+8:]))
			at += 12
		default:
			if vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z' {
				return bad("element (0002,%04X) has no explicit VR", elem)
			}
			n = int64(binary.LittleEndian.Uint16(b[at+6:]))
			at += 8
		}
		if n > int64(end-at) {
			return bad("element (0002,%04X) of %d bytes overruns the file meta group", elem, n)
		}
		v := strings.TrimRight(string(b[at:at+int(n)]), "\x00 ")
		switch elem {
		case 0x0002:
			p.SOPClassUID = v
		case 0x0003:
			p.SOPInstanceUID = v
		case 0x0010:
			p.TransferSyntaxUID = v
		}
		at += int(n)
	}
	switch {
	case p.TransferSyntaxUID == "":
		return bad("no Transfer Syntax UID (0002,0010)")
	case p.SOPClassUID == "":
		return bad("no Media Storage SOP Class UID (0002,0002)")
	case p.SOPInstanceUID == "":
		return bad("no Media Storage SOP Instance UID (0002,0003)")
	}
	p.DataSetOffset = end
	return p, nil
}
