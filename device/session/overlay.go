package session

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/device/dicom"
)

// Overlay colours: lesion pixels are blended towards tint, boundary pixels
// (a 4-neighbour outside the mask or the image) drawn in outline.
var (
	tint    = [3]uint8{255, 40, 40}
	outline = color.NRGBA{255, 220, 0, 255}
)

const (
	tintAlpha = 0.35
	grays     = 128 // grey levels in the palette, and as many tinted
)

// overlayPalette: indices 0..127 grey, 128..254 tinted grey, 255 outline.
// A paletted PNG is a quarter of the bytes of RGBA and skips the filter
// search, so encoding it is several times faster.
var overlayPalette = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range grays {
		g := uint8((i*255 + grays/2 - 1) / (grays - 1))
		p[i] = color.NRGBA{g, g, g, 255}
		if i < grays-1 {
			var c [3]uint8
			for k := range 3 {
				c[k] = uint8(math.Round((1-tintAlpha)*float64(g) + tintAlpha*float64(tint[k])))
			}
			p[grays+i] = color.NRGBA{c[0], c[1], c[2], 255}
		}
	}
	p[255] = outline
	return p
}()

// Overlay renders a slice with the window (width) and level (centre) in HU
// as 128 grey levels, and the mask (nonzero = lesion, may be nil) tinted
// and outlined.
func Overlay(sl *dicom.Slice, mask []uint8, window, level float64) (*image.Paletted, error) {
	n := sl.Rows * sl.Cols
	if sl.Rows < 1 || sl.Cols < 1 || len(sl.HU) != n {
		return nil, fmt.Errorf("session: overlay: %d HU values for a %d×%d slice", len(sl.HU), sl.Rows, sl.Cols)
	}
	if mask != nil && len(mask) != n {
		return nil, fmt.Errorf("session: overlay: mask of %d values for a %d×%d slice", len(mask), sl.Rows, sl.Cols)
	}
	if !(window > 0) {
		window = 1
	}
	lo := level - window/2
	img := image.NewPaletted(image.Rect(0, 0, sl.Cols, sl.Rows), overlayPalette)
	var lut [65536]uint8
	for v := range lut {
		g := (float64(int16(uint16(v))) - lo) / window * (grays - 1)
		lut[v] = uint8(math.Round(max(0, min(grays-1, g))))
	}
	for r := 0; r < sl.Rows; r++ {
		row := img.Pix[r*img.Stride : r*img.Stride+sl.Cols]
		for c := range row {
			i := r*sl.Cols + c
			g := lut[uint16(sl.HU[i])]
			row[c] = g
			if mask == nil || mask[i] == 0 {
				continue
			}
			if r == 0 || c == 0 || r == sl.Rows-1 || c == sl.Cols-1 ||
				mask[i-1] == 0 || mask[i+1] == 0 || mask[i-sl.Cols] == 0 || mask[i+sl.Cols] == 0 {
				row[c] = 255
			} else {
				row[c] = grays + min(g, grays-2)
			}
		}
	}
	return img, nil
}

var pngEnc = png.Encoder{CompressionLevel: png.BestSpeed}

// writeOverlay writes a slice's overlay into the series' overlays/ folder
// and returns its path relative to the series directory.
func (s *Session) writeOverlay(ser *series, sl *dicom.Slice, mask []uint8) (string, error) {
	img, err := Overlay(sl, mask, s.cfg.Window, s.cfg.Level)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := pngEnc.Encode(&buf, img); err != nil {
		return "", err
	}
	dir := filepath.Join(s.SeriesDir(ser.uid), "overlays")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%04d_%s.png", sl.InstanceNumber, safeName(sl.SOPInstanceUID))
	if err := writeFileAtomic(filepath.Join(dir, name), buf.Bytes()); err != nil {
		return "", err
	}
	return filepath.Join("overlays", name), nil
}
