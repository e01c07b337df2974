package tflitec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnavailable is wrapped by every error that means "this machine cannot
// run the TFLite backend as configured": the library or a delegate is
// missing or could not be created. Only these errors fall back to the native
// backend (Config.FallbackToNative).
var ErrUnavailable = errors.New("tflite: unavailable")

// ErrLibrary: libtensorflowlite_c could not be loaded (also ErrUnavailable).
var ErrLibrary = fmt.Errorf("%w: library not loaded", ErrUnavailable)

// ErrSymbol: a library lacks a function the binding needs (also
// ErrUnavailable).
var ErrSymbol = fmt.Errorf("%w: missing symbol", ErrUnavailable)

// ErrDelegate: a delegate could not be created or applied (also
// ErrUnavailable).
var ErrDelegate = fmt.Errorf("%w: delegate", ErrUnavailable)

// ErrClosed is returned by a closed session.
var ErrClosed = errors.New("tflite: session closed")

// Status is a TfLiteStatus (tensorflow/lite/core/c/c_api_types.h).
type Status int32

// TfLiteStatus values.
const (
	StatusOk                    Status = 0
	StatusError                 Status = 1
	StatusDelegateError         Status = 2
	StatusApplicationError      Status = 3
	StatusDelegateDataNotFound  Status = 4
	StatusDelegateDataWriteErr  Status = 5
	StatusDelegateDataReadError Status = 6
	StatusUnresolvedOps         Status = 7
	StatusCancelled             Status = 8
)

var statusNames = map[Status]string{
	StatusOk: "kTfLiteOk", StatusError: "kTfLiteError", StatusDelegateError: "kTfLiteDelegateError",
	StatusApplicationError: "kTfLiteApplicationError", StatusDelegateDataNotFound: "kTfLiteDelegateDataNotFound",
	StatusDelegateDataWriteErr: "kTfLiteDelegateDataWriteError", StatusDelegateDataReadError: "kTfLiteDelegateDataReadError",
	StatusUnresolvedOps: "kTfLiteUnresolvedOps", StatusCancelled: "kTfLiteCancelled",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("TfLiteStatus(%d)", int32(s))
}

// CallError is a failed TFLite C API call: the function, its status (or
// StatusError for a call that returns NULL) and what the library told the
// error reporter meanwhile.
type CallError struct {
	Call     string // "TfLiteInterpreterInvoke"
	What     string // what it was called on, if useful: `input 0 "x"`
	Status   Status
	Messages []string
}

func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString("tflite: ")
	b.WriteString(e.Call)
	if e.What != "" {
		b.WriteString(" (")
		b.WriteString(e.What)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Status.String())
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	} else {
		b.WriteString(" (the library reported nothing)")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrCancelled) true for a cancelled call.
func (e *CallError) Is(target error) bool {
	return target == ErrCancelled && e.Status == StatusCancelled
}

// ErrCancelled matches a CallError whose status is kTfLiteCancelled.
var ErrCancelled = errors.New("tflite: cancelled")
