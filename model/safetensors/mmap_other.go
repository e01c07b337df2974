//go:build !unix

package safetensors

import "os"

func mapFile(path string) ([]byte, func([]byte) error, error) {
	b, err := os.ReadFile(path)
	return b, nil, err
}
