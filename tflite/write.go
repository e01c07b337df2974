package tflite

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// BufferAlign is the alignment of constant buffers in written files, so
// that a memory-mapped model's data can be used in place.
const BufferAlign = 16

// Marshal validates m and serialises it as a TFLite flatbuffer.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	for si, sg := range m.Subgraphs {
		for ti, t := range sg.Tensors {
			if t.Sparse {
				return nil, top.subgraph(si).tensor(ti, t.Name).unsupportedf("sparse tensors cannot be written")
			}
		}
	}
	size := 1024
	for _, b := range m.Buffers {
		size += len(b) + BufferAlign + 16
	}
	b := flatbuffers.NewBuilder(size)

	// Operator codes, deduplicated in order of first use.
	var codes []OpCode
	codeIdx := map[OpCode]int{}
	for _, sg := range m.Subgraphs {
		for _, op := range sg.Operators {
			if _, ok := codeIdx[op.Code]; !ok {
				codeIdx[op.Code] = len(codes)
				codes = append(codes, op.Code)
			}
		}
	}

	// Buffers: data vectors aligned so the data (not the length prefix)
	// starts on a BufferAlign boundary of the finished file.
	bufOffs := make([]flatbuffers.UOffsetT, len(m.Buffers))
	for i := len(m.Buffers) - 1; i >= 0; i-- {
		var data flatbuffers.UOffsetT
		if d := m.Buffers[i]; len(d) > 0 {
			b.Prep(BufferAlign, len(d))
			data = b.CreateByteVector(d)
		}
		schema.BufferStart(b)
		if data != 0 {
			schema.BufferAddData(b, data)
		}
		bufOffs[i] = schema.BufferEnd(b)
	}

	sgOffs := make([]flatbuffers.UOffsetT, len(m.Subgraphs))
	zeroPoints := zeroPointVectors{}
	for i, sg := range m.Subgraphs {
		off, err := writeSubgraph(b, sg, codeIdx, zeroPoints)
		if err != nil {
			return nil, top.subgraph(i).errf("%v", err)
		}
		sgOffs[i] = off
	}

	codeOffs := make([]flatbuffers.UOffsetT, len(codes))
	for i, c := range codes {
		var custom flatbuffers.UOffsetT
		if c.Builtin == schema.BuiltinOperatorCUSTOM {
			custom = b.CreateString(c.Custom)
		}
		schema.OperatorCodeStart(b)
		schema.OperatorCodeAddDeprecatedBuiltinCode(b, int8(min(c.Builtin, schema.BuiltinOperatorPLACEHOLDER_FOR_GREATER_OP_CODES)))
		schema.OperatorCodeAddBuiltinCode(b, c.Builtin)
		if custom != 0 {
			schema.OperatorCodeAddCustomCode(b, custom)
		}
		v := c.Version
		if v <= 0 {
			v = 1
		}
		schema.OperatorCodeAddVersion(b, v)
		codeOffs[i] = schema.OperatorCodeEnd(b)
	}

	mdOffs := make([]flatbuffers.UOffsetT, len(m.Metadata))
	for i, md := range m.Metadata {
		name := b.CreateString(md.Name)
		schema.MetadataStart(b)
		schema.MetadataAddName(b, name)
		schema.MetadataAddBuffer(b, uint32(md.Buffer))
		mdOffs[i] = schema.MetadataEnd(b)
	}

	sdOffs := make([]flatbuffers.UOffsetT, len(m.SignatureDefs))
	for i, sd := range m.SignatureDefs {
		ins := tensorMaps(b, sd.Inputs)
		outs := tensorMaps(b, sd.Outputs)
		key := b.CreateString(sd.Key)
		schema.SignatureDefStart(b)
		schema.SignatureDefAddInputs(b, ins)
		schema.SignatureDefAddOutputs(b, outs)
		schema.SignatureDefAddSignatureKey(b, key)
		schema.SignatureDefAddSubgraphIndex(b, uint32(sd.Subgraph))
		sdOffs[i] = schema.SignatureDefEnd(b)
	}

	codesV := b.CreateVectorOfTables(codeOffs)
	sgV := b.CreateVectorOfTables(sgOffs)
	bufV := b.CreateVectorOfTables(bufOffs)
	mdV := b.CreateVectorOfTables(mdOffs)
	sdV := b.CreateVectorOfTables(sdOffs)
	var desc flatbuffers.UOffsetT
	if m.Description != "" {
		desc = b.CreateString(m.Description)
	}
	schema.ModelStart(b)
	schema.ModelAddVersion(b, m.Version)
	schema.ModelAddOperatorCodes(b, codesV)
	schema.ModelAddSubgraphs(b, sgV)
	if desc != 0 {
		schema.ModelAddDescription(b, desc)
	}
	schema.ModelAddBuffers(b, bufV)
	schema.ModelAddMetadata(b, mdV)
	schema.ModelAddSignatureDefs(b, sdV)
	root := schema.ModelEnd(b)
	b.FinishWithFileIdentifier(root, []byte(FileIdentifier))
	return b.FinishedBytes(), nil
}

func tensorMaps(b *flatbuffers.Builder, list []TensorMap) flatbuffers.UOffsetT {
	offs := make([]flatbuffers.UOffsetT, len(list))
	for i, tm := range list {
		name := b.CreateString(tm.Name)
		schema.TensorMapStart(b)
		schema.TensorMapAddName(b, name)
		schema.TensorMapAddTensorIndex(b, uint32(tm.Tensor))
		offs[i] = schema.TensorMapEnd(b)
	}
	return b.CreateVectorOfTables(offs)
}

func int32Vector(b *flatbuffers.Builder, v []int) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(int32(v[i]))
	}
	return b.EndVector(len(v))
}

func float32Vector(b *flatbuffers.Builder, v []float32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat32(v[i])
	}
	return b.EndVector(len(v))
}

// zeroPointVectors shares identical quantization zero_point vectors between
// tensors (flatbuffers lets tables point at the same vector): per-axis
// weights and biases of an int8 model all carry one int64 zero point (0)
// per channel, which would otherwise cost 8 bytes per channel per tensor.
type zeroPointVectors map[string]flatbuffers.UOffsetT

func (z zeroPointVectors) get(b *flatbuffers.Builder, zps []int64) flatbuffers.UOffsetT {
	key := make([]byte, 8*len(zps))
	for k, v := range zps {
		binary.LittleEndian.PutUint64(key[8*k:], uint64(v))
	}
	if off, ok := z[string(key)]; ok {
		return off
	}
	b.StartVector(8, len(zps), 8)
	for k := len(zps) - 1; k >= 0; k-- {
		b.PrependInt64(zps[k])
	}
	off := b.EndVector(len(zps))
	z[string(key)] = off
	return off
}

func writeSubgraph(b *flatbuffers.Builder, sg *Subgraph, codeIdx map[OpCode]int, zeroPoints zeroPointVectors) (flatbuffers.UOffsetT, error) {
	tOffs := make([]flatbuffers.UOffsetT, len(sg.Tensors))
	for i, t := range sg.Tensors {
		name := b.CreateString(t.Name)
		shape := int32Vector(b, t.Shape)
		var sig, quant flatbuffers.UOffsetT
		if t.ShapeSignature != nil {
			sig = int32Vector(b, t.ShapeSignature)
		}
		if q := t.Quant; q != nil {
			var scale, zp, mn, mx flatbuffers.UOffsetT
			if q.Scale != nil {
				scale = float32Vector(b, q.Scale)
			}
			if q.ZeroPoint != nil {
				zp = zeroPoints.get(b, q.ZeroPoint)
			}
			if q.Min != nil {
				mn = float32Vector(b, q.Min)
			}
			if q.Max != nil {
				mx = float32Vector(b, q.Max)
			}
			schema.QuantizationParametersStart(b)
			if mn != 0 {
				schema.QuantizationParametersAddMin(b, mn)
			}
			if mx != 0 {
				schema.QuantizationParametersAddMax(b, mx)
			}
			if scale != 0 {
				schema.QuantizationParametersAddScale(b, scale)
			}
			if zp != 0 {
				schema.QuantizationParametersAddZeroPoint(b, zp)
			}
			schema.QuantizationParametersAddQuantizedDimension(b, int32(q.Dim))
			quant = schema.QuantizationParametersEnd(b)
		}
		schema.TensorStart(b)
		schema.TensorAddShape(b, shape)
		schema.TensorAddType(b, schema.TensorType(t.Type))
		schema.TensorAddBuffer(b, uint32(t.Buffer))
		schema.TensorAddName(b, name)
		if quant != 0 {
			schema.TensorAddQuantization(b, quant)
		}
		schema.TensorAddIsVariable(b, t.IsVariable)
		if sig != 0 {
			schema.TensorAddShapeSignature(b, sig)
		}
		tOffs[i] = schema.TensorEnd(b)
	}

	oOffs := make([]flatbuffers.UOffsetT, len(sg.Operators))
	for i, op := range sg.Operators {
		ins := int32Vector(b, op.Inputs)
		outs := int32Vector(b, op.Outputs)
		var inter, custom, opts flatbuffers.UOffsetT
		if len(op.Intermediates) > 0 {
			inter = int32Vector(b, op.Intermediates)
		}
		if len(op.CustomOptions) > 0 {
			custom = b.CreateByteVector(op.CustomOptions)
		}
		t1, t2, err := optionsTag(op.Options)
		if err != nil {
			return 0, fmt.Errorf("operator %d: %v", i, err)
		}
		switch {
		case t1 != schema.BuiltinOptionsNONE:
			opts = (&schema.BuiltinOptionsT{Type: t1, Value: op.Options}).Pack(b)
		case t2 != schema.BuiltinOptions2NONE:
			opts = (&schema.BuiltinOptions2T{Type: t2, Value: op.Options}).Pack(b)
		}
		schema.OperatorStart(b)
		schema.OperatorAddOpcodeIndex(b, uint32(codeIdx[op.Code]))
		schema.OperatorAddInputs(b, ins)
		schema.OperatorAddOutputs(b, outs)
		switch {
		case t1 != schema.BuiltinOptionsNONE:
			schema.OperatorAddBuiltinOptionsType(b, t1)
			schema.OperatorAddBuiltinOptions(b, opts)
		case t2 != schema.BuiltinOptions2NONE:
			schema.OperatorAddBuiltinOptions2Type(b, t2)
			schema.OperatorAddBuiltinOptions2(b, opts)
		}
		if custom != 0 {
			schema.OperatorAddCustomOptions(b, custom)
		}
		if inter != 0 {
			schema.OperatorAddIntermediates(b, inter)
		}
		oOffs[i] = schema.OperatorEnd(b)
	}

	tV := b.CreateVectorOfTables(tOffs)
	inV := int32Vector(b, sg.Inputs)
	outV := int32Vector(b, sg.Outputs)
	oV := b.CreateVectorOfTables(oOffs)
	var name flatbuffers.UOffsetT
	if sg.Name != "" {
		name = b.CreateString(sg.Name)
	}
	schema.SubGraphStart(b)
	schema.SubGraphAddTensors(b, tV)
	schema.SubGraphAddInputs(b, inV)
	schema.SubGraphAddOutputs(b, outV)
	schema.SubGraphAddOperators(b, oV)
	if name != 0 {
		schema.SubGraphAddName(b, name)
	}
	return schema.SubGraphEnd(b), nil
}

// WriteFile marshals m and writes it atomically: a temporary file in the
// same folder, fsync, rename.
func (m *Model) WriteFile(path string) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path through a synced temporary file and a rename.
func WriteFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
