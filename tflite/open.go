package tflite

import (
	"fmt"
	"os"
)

// File is a model read from disk. Its constant buffers alias the file's
// bytes, memory-mapped where the platform allows; Close releases them, after
// which the Model must not be used.
type File struct {
	*Model
	data  []byte
	unmap func([]byte) error
}

// Bytes returns the file's contents.
func (f *File) Bytes() []byte { return f.data }

// Close unmaps the file.
func (f *File) Close() error {
	if f.unmap == nil || f.data == nil {
		return nil
	}
	err := f.unmap(f.data)
	f.data, f.Model = nil, nil
	return err
}

// Open reads and validates the model at path, memory-mapping it where the
// platform supports it.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Read(data)
	if err != nil {
		if unmap != nil {
			unmap(data)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Model: m, data: data, unmap: unmap}, nil
}

// ReadFile reads and validates the model at path into memory (no mapping).
func ReadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
