package dimse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// PDUType is the first byte of an Upper Layer PDU (PS3.8 9.3).
type PDUType byte

// The seven PDU types of PS3.8 9.3.
const (
	TypeAssociateRQ PDUType = 0x01
	TypeAssociateAC PDUType = 0x02
	TypeAssociateRJ PDUType = 0x03
	TypePDataTF     PDUType = 0x04
	TypeReleaseRQ   PDUType = 0x05
	TypeReleaseRP   PDUType = 0x06
	TypeAbort       PDUType = 0x07
)

func (t PDUType) String() string {
	switch t {
	case TypeAssociateRQ:
		return "A-ASSOCIATE-RQ"
	case TypeAssociateAC:
		return "A-ASSOCIATE-AC"
	case TypeAssociateRJ:
		return "A-ASSOCIATE-RJ"
	case TypePDataTF:
		return "P-DATA-TF"
	case TypeReleaseRQ:
		return "A-RELEASE-RQ"
	case TypeReleaseRP:
		return "A-RELEASE-RP"
	case TypeAbort:
		return "A-ABORT"
	}
	return fmt.Sprintf("PDU type 0x%02x", byte(t))
}

func (t PDUType) valid() bool { return t >= TypeAssociateRQ && t <= TypeAbort }

// HeaderLen is the size of the PDU header: type, reserved, 32-bit length.
const HeaderLen = 6

// PDU is one of *AssociateRQ, *AssociateAC, *AssociateRJ, *PDataTF,
// *ReleaseRQ, *ReleaseRP, *Abort.
type PDU interface {
	Type() PDUType
	appendBody(b []byte) ([]byte, error)
}

// Encode returns the wire form of p, header included.
func Encode(p PDU) ([]byte, error) {
	b := make([]byte, HeaderLen, 64)
	b[0] = byte(p.Type())
	b, err := p.appendBody(b)
	if err != nil {
		return nil, err
	}
	n := len(b) - HeaderLen
	if uint64(n) > math.MaxUint32 {
		return nil, encErr("%s body of %d bytes does not fit a 32-bit length", p.Type(), n)
	}
	binary.BigEndian.PutUint32(b[2:], uint32(n))
	return b, nil
}

// WritePDU encodes p and writes it to w in one Write call.
func WritePDU(w io.Writer, p PDU) error {
	b, err := Encode(p)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadPDU reads one PDU from r. A PDU-length field above maxLen (0: no
// limit) is a *TooLargeError, returned after reading only the header. The
// body is read incrementally, so memory grows with the bytes actually
// present, not with what the header claims. io.EOF is returned only when r
// ends before the first header byte.
func ReadPDU(r io.Reader, maxLen uint32) (PDU, error) {
	pr := pduReader{r: r}
	t, body, err := pr.next(maxLen)
	if err != nil {
		return nil, err
	}
	return DecodePDU(t, body)
}

// DecodePDU decodes the body (the bytes after the 6-byte header) of a PDU
// of type t. The result does not alias body except for PDataTF, whose PDV
// Data fields are sub-slices of it.
func DecodePDU(t PDUType, body []byte) (PDU, error) {
	switch t {
	case TypeAssociateRQ:
		return DecodeAssociateRQ(body)
	case TypeAssociateAC:
		return DecodeAssociateAC(body)
	case TypeAssociateRJ:
		return decodeRJ(body)
	case TypePDataTF:
		p := &PDataTF{}
		var err error
		p.Items, err = appendPDVs(nil, body)
		if err != nil {
			return nil, err
		}
		return p, nil
	case TypeReleaseRQ, TypeReleaseRP:
		if len(body) != 4 {
			return nil, pduErr("%s length is %d, must be 4", t, len(body))
		}
		if t == TypeReleaseRQ {
			return &ReleaseRQ{}, nil
		}
		return &ReleaseRP{}, nil
	case TypeAbort:
		if len(body) != 4 {
			return nil, pduErr("A-ABORT length is %d, must be 4", len(body))
		}
		return &Abort{Source: AbortSource(body[2]), Reason: AbortReason(body[3])}, nil
	}
	return nil, pduErr("unknown PDU type 0x%02x", byte(t))
}

// pduReader reads PDUs reusing one body buffer.
type pduReader struct {
	r   io.Reader
	hdr [HeaderLen]byte
	buf []byte
}

// chunk bounds each allocation step when the body length is not trusted.
const chunk = 64 << 10

// next reads one PDU and returns its type and body; the body is valid until
// the next call. Unknown PDU types are reported after the header is read.
func (pr *pduReader) next(maxLen uint32) (PDUType, []byte, error) {
	if _, err := io.ReadFull(pr.r, pr.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("%w: truncated PDU header", ErrPDU)
		}
		return 0, nil, err
	}
	t := PDUType(pr.hdr[0])
	n := binary.BigEndian.Uint32(pr.hdr[2:])
	if !t.valid() {
		return t, nil, pduErr("unknown PDU type 0x%02x", pr.hdr[0])
	}
	if maxLen > 0 && n > maxLen {
		return t, nil, &TooLargeError{Type: t, Length: n, Max: maxLen}
	}
	pr.buf = pr.buf[:0]
	for remaining := uint64(n); remaining > 0; {
		step := min(remaining, chunk)
		if uint64(cap(pr.buf)-len(pr.buf)) < step {
			// Grow by at least step, doubling, but never past n.
			want := min(uint64(max(2*cap(pr.buf), len(pr.buf)+int(step))), uint64(n))
			nb := make([]byte, len(pr.buf), want)
			copy(nb, pr.buf)
			pr.buf = nb
		}
		l := len(pr.buf)
		pr.buf = pr.buf[:l+int(step)]
		if _, err := io.ReadFull(pr.r, pr.buf[l:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return t, nil, pduErr("%s truncated: length %d, stream ended", t, n)
			}
			return t, nil, err
		}
		remaining -= step
	}
	return t, pr.buf, nil
}

// AssociateRJ is the A-ASSOCIATE-RJ PDU (PS3.8 9.3.4).
type AssociateRJ struct {
	Result RejectResult
	Source RejectSource
	Reason RejectReason
}

// RejectResult is the Result field of A-ASSOCIATE-RJ.
type RejectResult byte

// Result values.
const (
	RejectedPermanent RejectResult = 1
	RejectedTransient RejectResult = 2
)

// RejectSource is the Source field of A-ASSOCIATE-RJ.
type RejectSource byte

// Source values.
const (
	SourceServiceUser                 RejectSource = 1 // DICOM UL service-user
	SourceServiceProviderACSE         RejectSource = 2 // UL service-provider (ACSE related function)
	SourceServiceProviderPresentation RejectSource = 3 // UL service-provider (presentation related function)
)

// RejectReason is the Reason/Diag. field of A-ASSOCIATE-RJ; its meaning
// depends on the source.
type RejectReason byte

// Reasons with source SourceServiceUser.
const (
	ReasonNoReasonGiven                  RejectReason = 1
	ReasonApplicationContextNotSupported RejectReason = 2
	ReasonCallingAETitleNotRecognized    RejectReason = 3
	ReasonCalledAETitleNotRecognized     RejectReason = 7
)

// Reasons with source SourceServiceProviderACSE.
const (
	reasonProviderACSENoReasonGiven   RejectReason = 1
	ReasonProtocolVersionNotSupported RejectReason = 2
)

// Reasons with source SourceServiceProviderPresentation.
const (
	ReasonTemporaryCongestion RejectReason = 1
	ReasonLocalLimitExceeded  RejectReason = 2
)

// Type implements PDU.
func (*AssociateRJ) Type() PDUType { return TypeAssociateRJ }

func (p *AssociateRJ) appendBody(b []byte) ([]byte, error) {
	return append(b, 0, byte(p.Result), byte(p.Source), byte(p.Reason)), nil
}

func decodeRJ(body []byte) (*AssociateRJ, error) {
	if len(body) != 4 {
		return nil, pduErr("A-ASSOCIATE-RJ length is %d, must be 4", len(body))
	}
	return &AssociateRJ{Result: RejectResult(body[1]), Source: RejectSource(body[2]), Reason: RejectReason(body[3])}, nil
}

func (p AssociateRJ) String() string {
	res := "permanent"
	if p.Result == RejectedTransient {
		res = "transient"
	} else if p.Result != RejectedPermanent {
		res = fmt.Sprintf("result %d", p.Result)
	}
	var why string
	switch p.Source {
	case SourceServiceUser:
		switch p.Reason {
		case ReasonNoReasonGiven:
			why = "no reason given"
		case ReasonApplicationContextNotSupported:
			why = "application context name not supported"
		case ReasonCallingAETitleNotRecognized:
			why = "calling AE title not recognized"
		case ReasonCalledAETitleNotRecognized:
			why = "called AE title not recognized"
		}
	case SourceServiceProviderACSE:
		switch p.Reason {
		case reasonProviderACSENoReasonGiven:
			why = "no reason given (ACSE)"
		case ReasonProtocolVersionNotSupported:
			why = "protocol version not supported"
		}
	case SourceServiceProviderPresentation:
		switch p.Reason {
		case ReasonTemporaryCongestion:
			why = "temporary congestion"
		case ReasonLocalLimitExceeded:
			why = "local limit exceeded"
		}
	}
	if why == "" {
		why = fmt.Sprintf("source %d reason %d", p.Source, p.Reason)
	}
	return res + ", " + why
}

// ReleaseRQ is the A-RELEASE-RQ PDU.
type ReleaseRQ struct{}

// Type implements PDU.
func (*ReleaseRQ) Type() PDUType { return TypeReleaseRQ }

func (*ReleaseRQ) appendBody(b []byte) ([]byte, error) { return append(b, 0, 0, 0, 0), nil }

// ReleaseRP is the A-RELEASE-RP PDU.
type ReleaseRP struct{}

// Type implements PDU.
func (*ReleaseRP) Type() PDUType { return TypeReleaseRP }

func (*ReleaseRP) appendBody(b []byte) ([]byte, error) { return append(b, 0, 0, 0, 0), nil }

// AbortSource is the Source field of A-ABORT.
type AbortSource byte

// Abort sources.
const (
	AbortServiceUser     AbortSource = 0
	AbortServiceProvider AbortSource = 2
)

// AbortReason is the Reason/Diag. field of A-ABORT (significant only when
// the source is AbortServiceProvider).
type AbortReason byte

// Abort reasons (PS3.8 Table 9-26).
const (
	AbortReasonNotSpecified       AbortReason = 0
	AbortUnrecognizedPDU          AbortReason = 1
	AbortUnexpectedPDU            AbortReason = 2
	AbortUnrecognizedPDUParameter AbortReason = 4
	AbortUnexpectedPDUParameter   AbortReason = 5
	AbortInvalidPDUParameterValue AbortReason = 6
)

// Abort is the A-ABORT PDU (PS3.8 9.3.8).
type Abort struct {
	Source AbortSource
	Reason AbortReason
}

// Type implements PDU.
func (*Abort) Type() PDUType { return TypeAbort }

func (p *Abort) appendBody(b []byte) ([]byte, error) {
	return append(b, 0, 0, byte(p.Source), byte(p.Reason)), nil
}

func (p Abort) String() string {
	if p.Source == AbortServiceUser {
		return "by service user"
	}
	why := map[AbortReason]string{
		AbortReasonNotSpecified:       "reason not specified",
		AbortUnrecognizedPDU:          "unrecognized PDU",
		AbortUnexpectedPDU:            "unexpected PDU",
		AbortUnrecognizedPDUParameter: "unrecognized PDU parameter",
		AbortUnexpectedPDUParameter:   "unexpected PDU parameter",
		AbortInvalidPDUParameterValue: "invalid PDU parameter value",
	}[p.Reason]
	if why == "" {
		why = fmt.Sprintf("reason %d", p.Reason)
	}
	if p.Source != AbortServiceProvider {
		return fmt.Sprintf("source %d, %s", p.Source, why)
	}
	return "by service provider, " + why
}
