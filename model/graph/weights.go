package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/lsms-edge/lsms/model/safetensors"
)

// Weights reads float32 parameters from a safetensors file under a name
// prefix, checking shapes. The first error sticks in Err; later calls
// return zero-filled slices of the requested shape so that graph building
// can continue and report that one error at the end.
type Weights struct {
	F      *safetensors.File
	Prefix string
	Err    error
}

// Has reports whether prefix+name exists.
func (w *Weights) Has(name string) bool { return w.F.Has(w.Prefix + name) }

// Get returns prefix+name, which must have the given shape.
func (w *Weights) Get(name string, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if w.Err != nil {
		return make([]float32, n)
	}
	full := w.Prefix + name
	t, err := w.F.Tensor(full)
	if err != nil {
		w.Err = fmt.Errorf("weights: missing tensor %q", full)
		return make([]float32, n)
	}
	if !slices.Equal(t.Shape, shape) {
		w.Err = fmt.Errorf("weights: tensor %q has shape %v, the config needs %v", full, t.Shape, shape)
		return make([]float32, n)
	}
	v, err := w.F.Float32(full)
	if err != nil {
		w.Err = fmt.Errorf("weights: %w", err)
		return make([]float32, n)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			w.Err = fmt.Errorf("weights: tensor %q has a non-finite value %g at index %d", full, x, i)
			return make([]float32, n)
		}
	}
	return v
}

// OIHWToOHWI converts a PyTorch conv weight [o,i,kh,kw] to TFLite's CONV_2D
// layout [o,kh,kw,i].
func OIHWToOHWI(w []float32, o, i, kh, kw int) []float32 {
	out := make([]float32, len(w))
	for a := range o {
		for b := range i {
			for y := range kh {
				for x := range kw {
					out[((a*kh+y)*kw+x)*i+b] = w[((a*i+b)*kh+y)*kw+x]
				}
			}
		}
	}
	return out
}

// DepthwiseToTFLite converts a PyTorch depthwise weight [c,1,kh,kw] to
// TFLite's DEPTHWISE_CONV_2D layout [1,kh,kw,c].
func DepthwiseToTFLite(w []float32, c, kh, kw int) []float32 {
	out := make([]float32, len(w))
	for ch := range c {
		for y := range kh {
			for x := range kw {
				out[(y*kw+x)*c+ch] = w[(ch*kh+y)*kw+x]
			}
		}
	}
	return out
}

// Affine is a per-channel y = x·Scale + Shift (an eval-mode BatchNorm).
type Affine struct{ Scale, Shift []float64 }

// BatchNorm returns the inference affine of a BatchNorm:
// scale = γ/√(var+eps), shift = β − mean·scale.
func BatchNorm(gamma, beta, mean, variance []float32, eps float64) Affine {
	a := Affine{Scale: make([]float64, len(gamma)), Shift: make([]float64, len(gamma))}
	for i := range gamma {
		s := float64(gamma[i]) / math.Sqrt(float64(variance[i])+eps)
		a.Scale[i] = s
		a.Shift[i] = float64(beta[i]) - float64(mean[i])*s
	}
	return a
}

// FoldInto returns the weights and bias of a conv (or linear) whose output
// channel o has weights w[o*per:(o+1)*per] and bias b[o], followed by the
// affine: w'·= scale, b' = b·scale + shift. b may be nil (no bias).
func (a Affine) FoldInto(w, b []float32) ([]float32, []float32) {
	n := len(a.Scale)
	per := len(w) / n
	w2 := make([]float32, len(w))
	b2 := make([]float32, n)
	for o := range n {
		for k := range per {
			w2[o*per+k] = float32(float64(w[o*per+k]) * a.Scale[o])
		}
		bias := 0.0
		if b != nil {
			bias = float64(b[o])
		}
		b2[o] = float32(bias*a.Scale[o] + a.Shift[o])
	}
	return w2, b2
}

// F32 rounds float64s to float32s.
func F32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
