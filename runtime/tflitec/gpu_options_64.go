//go:build !arm && !386

package tflitec

import "structs"

// gpuOptions is TfLiteGpuDelegateOptionsV2 (delegates/gpu/delegate_options.h)
// on 64-bit targets: 56 bytes, experimental_flags at 24.
type gpuOptions struct {
	_                      structs.HostLayout
	IsPrecisionLossAllowed int32
	InferencePreference    int32
	InferencePriority1     int32
	InferencePriority2     int32
	InferencePriority3     int32
	_                      int32 // C aligns the int64 below to 8
	ExperimentalFlags      int64
	MaxDelegatedPartitions int32
	SerializationDir       uintptr
	ModelToken             uintptr
}
