package dimse

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns matches one of them
// (or a net/io/context error) with errors.Is.
var (
	// ErrPDU: a PDU, item or sub-item is malformed (truncated, bad length,
	// missing mandatory item, unknown PDU type).
	ErrPDU = errors.New("dimse: malformed PDU")
	// ErrPDUTooLarge: a PDU is longer than the receiver accepts. See TooLargeError.
	ErrPDUTooLarge = errors.New("dimse: PDU too large")
	// ErrCommand: a DIMSE command set is malformed.
	ErrCommand = errors.New("dimse: malformed command set")
	// ErrEncode: a value cannot be encoded (AE title over 16 bytes, item over
	// 65535 bytes, too many presentation contexts).
	ErrEncode = errors.New("dimse: cannot encode")
	// ErrConfig: a Server or ClientConfig field is invalid.
	ErrConfig = errors.New("dimse: invalid configuration")
	// ErrRejected: the peer rejected the association. See RejectError.
	ErrRejected = errors.New("dimse: association rejected")
	// ErrAborted: the peer aborted the association. See AbortError.
	ErrAborted = errors.New("dimse: association aborted")
	// ErrProtocol: the peer sent a PDU or message that is not allowed in the
	// current state (a P-DATA fragment for an unknown context, a command
	// fragment in the middle of a data set, an A-ASSOCIATE-AC mid-association).
	ErrProtocol = errors.New("dimse: protocol violation")
	// ErrNoContext: no accepted presentation context matches a SOP class and
	// transfer syntax.
	ErrNoContext = errors.New("dimse: no accepted presentation context")
	// ErrStatus: a DIMSE response carried a status other than Success.
	// See StatusError.
	ErrStatus = errors.New("dimse: operation failed")
	// ErrClosed: the Client was released, aborted or closed.
	ErrClosed = errors.New("dimse: association closed")
)

// TooLargeError reports a PDU whose length field exceeds the limit.
// It unwraps to ErrPDUTooLarge.
type TooLargeError struct {
	Type   PDUType
	Length uint32 // the PDU-length field
	Max    uint32 // the limit in force
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("dimse: %s PDU of %d bytes exceeds the maximum of %d", e.Type, e.Length, e.Max)
}

func (e *TooLargeError) Unwrap() error { return ErrPDUTooLarge }

// RejectError is an A-ASSOCIATE-RJ received from the peer.
// It unwraps to ErrRejected.
type RejectError struct{ AssociateRJ }

func (e *RejectError) Error() string {
	return "dimse: association rejected: " + e.AssociateRJ.String()
}

func (e *RejectError) Unwrap() error { return ErrRejected }

// AbortError is an A-ABORT received from (or, in Server logs, sent to) the
// peer. It unwraps to ErrAborted.
type AbortError struct{ Abort }

func (e *AbortError) Error() string { return "dimse: association aborted: " + e.Abort.String() }

func (e *AbortError) Unwrap() error { return ErrAborted }

// StatusError is a DIMSE response whose status is not Success (warnings
// included; see Status.IsWarning). It unwraps to ErrStatus.
type StatusError struct {
	Op      string // "C-STORE", "C-ECHO"
	Status  Status
	Comment string // Error Comment (0000,0902), if the peer sent one
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("dimse: %s status %s", e.Op, e.Status)
	if e.Comment != "" {
		s += ": " + e.Comment
	}
	return s
}

func (e *StatusError) Unwrap() error { return ErrStatus }

func pduErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrPDU}, args...)...)
}

func cmdErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCommand}, args...)...)
}

func encErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrEncode}, args...)...)
}

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
