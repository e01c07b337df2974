//go:build arm || 386

package tflitec

import "structs"

// gpuOptions is TfLiteGpuDelegateOptionsV2 (delegates/gpu/delegate_options.h)
// on 32-bit targets, where Go aligns int64 to 4 bytes but C (AAPCS) to 8:
// the padding is explicit. 48 bytes, experimental_flags at 24, the strings
// at 36 and 40.
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
	_                      int32 // C rounds the size up to the int64's 8
}
