package dicom

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A 512×512 slice, the usual CT size.
func BenchmarkReadCT512(b *testing.B) {
	hu := make([]int16, 512*512)
	for i := range hu {
		hu[i] = int16(i%3000 - 1024)
	}
	s, err := NewSeries(512, 512).Slice(0, hu)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "ct.dcm")
	if err := WriteCT(path, s); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := ReadCT(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCT512(b *testing.B) {
	s, err := NewSeries(512, 512).Slice(0, make([]int16, 512*512))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "ct.dcm")
	b.ResetTimer()
	for range b.N {
		if err := WriteCT(path, s); err != nil {
			b.Fatal(err)
		}
	}
}
