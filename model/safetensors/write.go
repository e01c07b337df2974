package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Entry is a tensor to encode: raw little-endian data of a dtype and shape.
type Entry struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// F32Entry makes an F32 Entry from values.
func F32Entry(name string, shape []int, v []float32) Entry {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Entry{Name: name, DType: F32, Shape: shape, Data: b}
}

// Encode writes entries (sorted by name, stored without gaps) and metadata
// as a safetensors file whose data buffer starts 8-byte aligned.
func Encode(entries []Entry, metadata map[string]string) ([]byte, error) {
	es := slices.Clone(entries)
	slices.SortFunc(es, func(a, b Entry) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	type info struct {
		DType       DType  `json:"dtype"`
		Shape       []int  `json:"shape"`
		DataOffsets [2]int `json:"data_offsets"`
	}
	header := map[string]any{}
	off := 0
	for i, e := range es {
		if i > 0 && es[i-1].Name == e.Name {
			return nil, fmt.Errorf("safetensors: duplicate tensor %q", e.Name)
		}
		if e.Name == MetadataKey {
			return nil, fmt.Errorf("safetensors: %q is reserved", e.Name)
		}
		t := Tensor{Shape: e.Shape}
		if e.DType.Size() == 0 || t.NumElements()*e.DType.Size() != len(e.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: %d bytes for %s%v", e.Name, len(e.Data), e.DType, e.Shape)
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		header[e.Name] = info{DType: e.DType, Shape: shape, DataOffsets: [2]int{off, off + len(e.Data)}}
		off += len(e.Data)
	}
	if len(metadata) > 0 {
		header[MetadataKey] = metadata
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for (8+len(h))%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, e := range es {
		out = append(out, e.Data...)
	}
	return out, nil
}
