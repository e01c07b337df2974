package tflite

import (
	"fmt"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// DType is a tensor element type; its values are TFLite's TensorType.
type DType int8

// Element types used by TFLite models.
const (
	Float32    DType = DType(schema.TensorTypeFLOAT32)
	Float16    DType = DType(schema.TensorTypeFLOAT16)
	Int32      DType = DType(schema.TensorTypeINT32)
	UInt8      DType = DType(schema.TensorTypeUINT8)
	Int64      DType = DType(schema.TensorTypeINT64)
	String     DType = DType(schema.TensorTypeSTRING)
	Bool       DType = DType(schema.TensorTypeBOOL)
	Int16      DType = DType(schema.TensorTypeINT16)
	Complex64  DType = DType(schema.TensorTypeCOMPLEX64)
	Int8       DType = DType(schema.TensorTypeINT8)
	Float64    DType = DType(schema.TensorTypeFLOAT64)
	Complex128 DType = DType(schema.TensorTypeCOMPLEX128)
	UInt64     DType = DType(schema.TensorTypeUINT64)
	Resource   DType = DType(schema.TensorTypeRESOURCE)
	Variant    DType = DType(schema.TensorTypeVARIANT)
	UInt32     DType = DType(schema.TensorTypeUINT32)
	UInt16     DType = DType(schema.TensorTypeUINT16)
	Int4       DType = DType(schema.TensorTypeINT4)
	BFloat16   DType = DType(schema.TensorTypeBFLOAT16)
)

// Size is the element size in bytes; 0 for types without a fixed size
// (string, resource, variant, int4).
func (d DType) Size() int {
	switch d {
	case Int8, UInt8, Bool:
		return 1
	case Float16, Int16, UInt16, BFloat16:
		return 2
	case Float32, Int32, UInt32:
		return 4
	case Int64, Float64, Complex64, UInt64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// Valid reports whether d is a TensorType the schema defines.
func (d DType) Valid() bool {
	_, ok := schema.EnumNamesTensorType[schema.TensorType(d)]
	return ok
}

func (d DType) String() string {
	if n, ok := schema.EnumNamesTensorType[schema.TensorType(d)]; ok {
		return n
	}
	return fmt.Sprintf("TensorType(%d)", int8(d))
}
