package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
)

// ErrPixelFormat marks a PNG whose pixel format is not the one expected
// (16-bit grey for slices, 8-bit grey for masks).
var ErrPixelFormat = errors.New("unexpected PNG pixel format")

// HUImage is a CT slice in Hounsfield units, row-major.
type HUImage struct {
	Width, Height int
	HU            []int16
}

// At returns the HU at column x, row y.
func (im *HUImage) At(x, y int) int16 { return im.HU[y*im.Width+x] }

// Mask is a binary mask, row-major; Pix holds 0 or 1.
type Mask struct {
	Width, Height int
	Pix           []uint8
}

// Area counts the foreground pixels.
func (m *Mask) Area() int {
	n := 0
	for _, v := range m.Pix {
		n += int(v)
	}
	return n
}

// EncodeHU writes hu (width×height, row-major) as a 16-bit grey PNG
// holding HU+offset, clipped to 0..65535.
func EncodeHU(w io.Writer, hu []int16, width, height, offset int) error {
	if len(hu) != width*height {
		return fmt.Errorf("dataset: %d pixels for %d×%d", len(hu), width, height)
	}
	img := image.NewGray16(image.Rect(0, 0, width, height))
	for i, v := range hu {
		u := int(v) + offset
		u = max(0, min(65535, u))
		img.Pix[2*i] = byte(u >> 8)
		img.Pix[2*i+1] = byte(u)
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

// EncodeMask writes a mask (nonzero = foreground) as an 8-bit PNG of 0/255.
func EncodeMask(w io.Writer, pix []uint8, width, height int) error {
	if len(pix) != width*height {
		return fmt.Errorf("dataset: %d pixels for %d×%d", len(pix), width, height)
	}
	img := image.NewGray(image.Rect(0, 0, width, height))
	for i, v := range pix {
		if v != 0 {
			img.Pix[i] = 255
		}
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	return enc.Encode(w, img)
}

// DecodeHU reads a 16-bit grey PNG and subtracts offset.
func DecodeHU(r io.Reader, offset int) (*HUImage, error) {
	img, err := png.Decode(r)
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		return nil, fmt.Errorf("%w: %T, want 16-bit grey", ErrPixelFormat, img)
	}
	b := g.Bounds()
	out := &HUImage{Width: b.Dx(), Height: b.Dy(), HU: make([]int16, b.Dx()*b.Dy())}
	for y := 0; y < out.Height; y++ {
		row := g.Pix[y*g.Stride:]
		for x := 0; x < out.Width; x++ {
			u := int(row[2*x])<<8 | int(row[2*x+1])
			v := u - offset
			if v < -32768 || v > 32767 {
				return nil, fmt.Errorf("dataset: stored value %d minus offset %d is outside int16", u, offset)
			}
			out.HU[y*out.Width+x] = int16(v)
		}
	}
	return out, nil
}

// DecodeMask reads an 8-bit grey PNG; nonzero pixels are foreground.
func DecodeMask(r io.Reader) (*Mask, error) {
	img, err := png.Decode(r)
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("%w: %T, want 8-bit grey", ErrPixelFormat, img)
	}
	b := g.Bounds()
	m := &Mask{Width: b.Dx(), Height: b.Dy(), Pix: make([]uint8, b.Dx()*b.Dy())}
	for y := 0; y < m.Height; y++ {
		row := g.Pix[y*g.Stride:]
		for x := 0; x < m.Width; x++ {
			if row[x] != 0 {
				m.Pix[y*m.Width+x] = 1
			}
		}
	}
	return m, nil
}

// ReadHU reads a slice PNG file as HU.
func ReadHU(path string, offset int) (*HUImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	im, err := DecodeHU(bufio.NewReader(f), offset)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

// ReadMask reads a mask PNG file.
func ReadMask(path string) (*Mask, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := DecodeMask(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
