//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

func mapFile(path string) ([]byte, func([]byte) error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 || size != int64(int(size)) {
		// Empty (cannot be mapped) or too large: Parse reports it.
		b, err := os.ReadFile(path)
		return b, nil, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		b, rerr := os.ReadFile(path)
		return b, nil, rerr
	}
	return data, syscall.Munmap, nil
}
