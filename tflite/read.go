package tflite

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// FileIdentifier is the flatbuffer file identifier of TFLite models.
const FileIdentifier = "TFL3"

// Read decodes and validates a model. The returned model's constant
// buffers alias data, which must stay unchanged while the model is used.
func Read(data []byte) (*Model, error) {
	m, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decoder reads a flatbuffer without trusting it: every vector length is
// checked against the bytes that could hold it before anything is
// allocated, the total number of decoded elements is capped by a budget
// proportional to the file size (shared sub-objects cannot multiply the
// work), and an out-of-range access in the generated accessors is turned
// into an error by Read's recover.
type decoder struct {
	buf    []byte
	budget int64
}

type decodePanic struct{ err error }

func (d *decoder) fail(format string, args ...any) {
	panic(decodePanic{fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))})
}

// vec checks a vector of n elements of size elem read from a table field.
func (d *decoder) vec(what string, n, elem int) int {
	if n < 0 || int64(n)*int64(elem) > int64(len(d.buf)) {
		d.fail("%s: vector length %d does not fit in a %d-byte file", what, n, len(d.buf))
	}
	d.budget -= int64(n) + 1
	if d.budget < 0 {
		d.fail("%s: file references more objects than it can hold (shared or overlapping tables)", what)
	}
	return n
}

func (d *decoder) str(what string, b []byte) string {
	d.vec(what, len(b), 1)
	return string(b)
}

func decode(data []byte) (m *Model, err error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: file is %d bytes, too short for a flatbuffer", ErrInvalid, len(data))
	}
	if !flatbuffers.BufferHasIdentifier(data, FileIdentifier) {
		return nil, fmt.Errorf("%w: missing %q file identifier (found %q)", ErrInvalid, FileIdentifier, printable(data[4:8]))
	}
	root := binary.LittleEndian.Uint32(data)
	if int64(root)+4 > int64(len(data)) {
		return nil, fmt.Errorf("%w: root table offset %d beyond the %d-byte file", ErrInvalid, root, len(data))
	}
	d := &decoder{buf: data, budget: 4*int64(len(data)) + 1024}
	defer func() {
		if r := recover(); r != nil {
			if p, ok := r.(decodePanic); ok {
				err = p.err
			} else {
				err = fmt.Errorf("%w: malformed flatbuffer (%v)", ErrInvalid, r)
			}
			m = nil
		}
	}()
	return d.model(schema.GetRootAsModel(data, 0)), nil
}

func printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	return s.String()
}

func (d *decoder) model(fm *schema.Model) *Model {
	m := &Model{Version: fm.Version(), Description: d.str("description", fm.Description())}
	if m.Version != SchemaVersion {
		panic(decodePanic{fmt.Errorf("%w: schema version %d, this reader supports %d", ErrUnsupported, m.Version, SchemaVersion)})
	}

	nb := d.vec("buffers", fm.BuffersLength(), 4)
	m.Buffers = make([][]byte, nb)
	var fb schema.Buffer
	for i := range nb {
		if !fm.Buffers(&fb, i) {
			d.fail("buffer %d missing", i)
		}
		if off, size := fb.Offset(), fb.Size(); off > 1 {
			// Data stored after the flatbuffer (models over 2 GB).
			if off > uint64(len(d.buf)) || size > uint64(len(d.buf))-off {
				d.fail("buffer %d: offset %d + size %d beyond the %d-byte file", i, off, size, len(d.buf))
			}
			m.Buffers[i] = d.buf[off : off+size : off+size]
			continue
		}
		n := d.vec(fmt.Sprintf("buffer %d", i), fb.DataLength(), 1)
		if n > 0 {
			b := fb.DataBytes()
			m.Buffers[i] = b[:n:n]
		}
	}

	nc := d.vec("operator_codes", fm.OperatorCodesLength(), 4)
	codes := make([]OpCode, nc)
	var fc schema.OperatorCode
	for i := range nc {
		if !fm.OperatorCodes(&fc, i) {
			d.fail("operator code %d missing", i)
		}
		// Codes above 127 live in builtin_code with deprecated_builtin_code = 127
		// (PLACEHOLDER_FOR_GREATER_OP_CODES); older files have only the deprecated field.
		b := max(schema.BuiltinOperator(fc.DeprecatedBuiltinCode()), fc.BuiltinCode())
		codes[i] = OpCode{Builtin: b, Version: fc.Version()}
		if b == schema.BuiltinOperatorCUSTOM {
			codes[i].Custom = d.str("custom_code", fc.CustomCode())
		}
	}

	ns := d.vec("subgraphs", fm.SubgraphsLength(), 4)
	m.Subgraphs = make([]*Subgraph, ns)
	var fs schema.SubGraph
	for i := range ns {
		if !fm.Subgraphs(&fs, i) {
			d.fail("subgraph %d missing", i)
		}
		m.Subgraphs[i] = d.subgraph(i, &fs, codes)
	}

	nm := d.vec("metadata", fm.MetadataLength(), 4)
	var fmd schema.Metadata
	for i := range nm {
		if !fm.Metadata(&fmd, i) {
			d.fail("metadata %d missing", i)
		}
		m.Metadata = append(m.Metadata, Metadata{Name: d.str("metadata name", fmd.Name()), Buffer: int(fmd.Buffer())})
	}

	nsd := d.vec("signature_defs", fm.SignatureDefsLength(), 4)
	var fsd schema.SignatureDef
	var tm schema.TensorMap
	for i := range nsd {
		if !fm.SignatureDefs(&fsd, i) {
			d.fail("signature def %d missing", i)
		}
		sd := SignatureDef{Key: d.str("signature key", fsd.SignatureKey()), Subgraph: int(fsd.SubgraphIndex())}
		for j := range d.vec("signature inputs", fsd.InputsLength(), 4) {
			fsd.Inputs(&tm, j)
			sd.Inputs = append(sd.Inputs, TensorMap{Name: d.str("signature input name", tm.Name()), Tensor: int(tm.TensorIndex())})
		}
		for j := range d.vec("signature outputs", fsd.OutputsLength(), 4) {
			fsd.Outputs(&tm, j)
			sd.Outputs = append(sd.Outputs, TensorMap{Name: d.str("signature output name", tm.Name()), Tensor: int(tm.TensorIndex())})
		}
		m.SignatureDefs = append(m.SignatureDefs, sd)
	}
	return m
}

func (d *decoder) ints(what string, n int, at func(int) int32) []int {
	n = d.vec(what, n, 4)
	if n == 0 {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(at(i))
	}
	return out
}

func (d *decoder) subgraph(si int, fs *schema.SubGraph, codes []OpCode) *Subgraph {
	sg := &Subgraph{Name: d.str("subgraph name", fs.Name())}
	nt := d.vec(fmt.Sprintf("subgraph %d tensors", si), fs.TensorsLength(), 4)
	sg.Tensors = make([]*Tensor, nt)
	var ft schema.Tensor
	var fq schema.QuantizationParameters
	for i := range nt {
		if !fs.Tensors(&ft, i) {
			d.fail("subgraph %d tensor %d missing", si, i)
		}
		t := &Tensor{
			Name:       d.str("tensor name", ft.Name()),
			Type:       DType(ft.Type()),
			Buffer:     int(ft.Buffer()),
			IsVariable: ft.IsVariable(),
			Shape:      d.ints("tensor shape", ft.ShapeLength(), ft.Shape),
		}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		t.ShapeSignature = d.ints("tensor shape_signature", ft.ShapeSignatureLength(), ft.ShapeSignature)
		if q := ft.Quantization(&fq); q != nil {
			t.Quant = d.quant(q)
		}
		var sp schema.SparsityParameters
		t.Sparse = ft.Sparsity(&sp) != nil
		sg.Tensors[i] = t
	}
	sg.Inputs = d.ints("subgraph inputs", fs.InputsLength(), fs.Inputs)
	sg.Outputs = d.ints("subgraph outputs", fs.OutputsLength(), fs.Outputs)

	no := d.vec(fmt.Sprintf("subgraph %d operators", si), fs.OperatorsLength(), 4)
	sg.Operators = make([]*Operator, no)
	var fo schema.Operator
	for i := range no {
		if !fs.Operators(&fo, i) {
			d.fail("subgraph %d operator %d missing", si, i)
		}
		ci := fo.OpcodeIndex()
		if int64(ci) >= int64(len(codes)) {
			d.fail("subgraph %d operator %d: opcode_index %d out of range [0,%d)", si, i, ci, len(codes))
		}
		op := &Operator{
			Code:          codes[ci],
			Inputs:        d.ints("operator inputs", fo.InputsLength(), fo.Inputs),
			Outputs:       d.ints("operator outputs", fo.OutputsLength(), fo.Outputs),
			Intermediates: d.ints("operator intermediates", fo.IntermediatesLength(), fo.Intermediates),
		}
		if n := d.vec("custom_options", fo.CustomOptionsLength(), 1); n > 0 {
			op.CustomOptions = fo.CustomOptionsBytes()[:n:n]
		}
		var tab flatbuffers.Table
		if t := fo.BuiltinOptionsType(); t != schema.BuiltinOptionsNONE && fo.BuiltinOptions(&tab) {
			what := fmt.Sprintf("subgraph %d operator %d options", si, i)
			d.checkTable(what, tab)
			d.checkVectors(what, vectorOptions[t], tab)
			u := t.UnPack(tab)
			if u == nil {
				d.fail("subgraph %d operator %d: unknown builtin options type %d", si, i, t)
			}
			op.Options = u.Value
		} else if t2 := fo.BuiltinOptions2Type(); t2 != schema.BuiltinOptions2NONE && fo.BuiltinOptions2(&tab) {
			what := fmt.Sprintf("subgraph %d operator %d options2", si, i)
			d.checkTable(what, tab)
			d.checkVectors(what, vectorOptions2[t2], tab)
			u := t2.UnPack(tab)
			if u == nil {
				d.fail("subgraph %d operator %d: unknown builtin options2 type %d", si, i, t2)
			}
			op.Options = u.Value
		}
		sg.Operators[i] = op
	}
	return sg
}

func (d *decoder) quant(q *schema.QuantizationParameters) *Quantization {
	out := &Quantization{Dim: int(q.QuantizedDimension())}
	n := d.vec("quantization scale", q.ScaleLength(), 4)
	for i := range n {
		out.Scale = append(out.Scale, q.Scale(i))
	}
	n = d.vec("quantization zero_point", q.ZeroPointLength(), 8)
	for i := range n {
		out.ZeroPoint = append(out.ZeroPoint, q.ZeroPoint(i))
	}
	n = d.vec("quantization min", q.MinLength(), 4)
	for i := range n {
		out.Min = append(out.Min, q.Min(i))
	}
	n = d.vec("quantization max", q.MaxLength(), 4)
	for i := range n {
		out.Max = append(out.Max, q.Max(i))
	}
	if len(out.Scale) == 0 && len(out.ZeroPoint) == 0 && len(out.Min) == 0 && len(out.Max) == 0 {
		return nil
	}
	return out
}

// checkTable bounds-checks an options table and every vector it holds
// before the generated UnPack allocates for them. Options tables hold only
// scalars and scalar vectors; the vectors are found through the generated
// reader's XxxLength methods.
func (d *decoder) checkTable(what string, tab flatbuffers.Table) {
	pos := int64(tab.Pos)
	if pos < 0 || pos+4 > int64(len(d.buf)) {
		d.fail("%s: table offset %d outside the file", what, pos)
	}
	vt := pos - int64(int32(binary.LittleEndian.Uint32(d.buf[pos:])))
	if vt < 0 || vt+4 > int64(len(d.buf)) {
		d.fail("%s: vtable offset %d outside the file", what, vt)
	}
	vsize := int64(binary.LittleEndian.Uint16(d.buf[vt:]))
	osize := int64(binary.LittleEndian.Uint16(d.buf[vt+2:]))
	if vsize < 4 || vsize%2 != 0 || vt+vsize > int64(len(d.buf)) || pos+osize > int64(len(d.buf)) {
		d.fail("%s: vtable (size %d, object size %d) outside the file", what, vsize, osize)
	}
	for f := int64(4); f < vsize; f += 2 {
		if off := int64(binary.LittleEndian.Uint16(d.buf[vt+f:])); off != 0 && (off < 4 || off+1 > osize) {
			d.fail("%s: field at %d outside its %d-byte table", what, off, osize)
		}
	}
	d.budget -= 1 + vsize/2
	if d.budget < 0 {
		d.fail("%s: file references more objects than it can hold", what)
	}
}

type tableReader interface {
	Init(buf []byte, i flatbuffers.UOffsetT)
}

// Options tables that hold vectors. The list comes from the generated
// object-API types whose fields are slices:
//
//	awk '/^type [A-Za-z0-9]+T struct/{n=$2} /\[\]/{print n}' schema/*Options*_generated.go | sort -u
var (
	vectorOptions = map[schema.BuiltinOptions]func() tableReader{
		schema.BuiltinOptionsBucketizeOptions:        func() tableReader { return new(schema.BucketizeOptions) },
		schema.BuiltinOptionsConcatEmbeddingsOptions: func() tableReader { return new(schema.ConcatEmbeddingsOptions) },
		schema.BuiltinOptionsReshapeOptions:          func() tableReader { return new(schema.ReshapeOptions) },
		schema.BuiltinOptionsSqueezeOptions:          func() tableReader { return new(schema.SqueezeOptions) },
	}
	vectorOptions2 = map[schema.BuiltinOptions2]func() tableReader{
		schema.BuiltinOptions2StableHLOCompositeOptions:      func() tableReader { return new(schema.StableHLOCompositeOptions) },
		schema.BuiltinOptions2StablehloBroadcastInDimOptions: func() tableReader { return new(schema.StablehloBroadcastInDimOptions) },
		schema.BuiltinOptions2StablehloConvolutionOptions:    func() tableReader { return new(schema.StablehloConvolutionOptions) },
		schema.BuiltinOptions2StablehloCustomCallOptions:     func() tableReader { return new(schema.StablehloCustomCallOptions) },
		schema.BuiltinOptions2StablehloDotGeneralOptions:     func() tableReader { return new(schema.StablehloDotGeneralOptions) },
		schema.BuiltinOptions2StablehloDynamicSliceOptions:   func() tableReader { return new(schema.StablehloDynamicSliceOptions) },
		schema.BuiltinOptions2StablehloGatherOptions:         func() tableReader { return new(schema.StablehloGatherOptions) },
		schema.BuiltinOptions2StablehloPadOptions:            func() tableReader { return new(schema.StablehloPadOptions) },
		schema.BuiltinOptions2StablehloReduceOptions:         func() tableReader { return new(schema.StablehloReduceOptions) },
		schema.BuiltinOptions2StablehloReduceWindowOptions:   func() tableReader { return new(schema.StablehloReduceWindowOptions) },
		schema.BuiltinOptions2StablehloScatterOptions:        func() tableReader { return new(schema.StablehloScatterOptions) },
		schema.BuiltinOptions2StablehloSliceOptions:          func() tableReader { return new(schema.StablehloSliceOptions) },
		schema.BuiltinOptions2StablehloTransposeOptions:      func() tableReader { return new(schema.StablehloTransposeOptions) },
	}
)

// checkVectors calls every XxxLength method of an options reader and
// checks the length against the file size.
func (d *decoder) checkVectors(what string, mk func() tableReader, tab flatbuffers.Table) {
	if mk == nil {
		return
	}
	r := mk()
	r.Init(tab.Bytes, tab.Pos)
	v := reflect.ValueOf(r)
	t := v.Type()
	for i := range t.NumMethod() {
		m := t.Method(i)
		if !strings.HasSuffix(m.Name, "Length") || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.Int {
			continue
		}
		n := int(v.Method(i).Call(nil)[0].Int())
		d.vec(what+" "+strings.TrimSuffix(m.Name, "Length"), n, 1)
	}
}
