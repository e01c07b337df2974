// Package model runs a trained LSMS model bundle: Segmenter turns a CT slice
// in Hounsfield units and a referring expression into a probability map and
// a mask at the slice's own resolution.
//
// The bundle (model/bundle) holds two graphs: the text encoder runs once per
// expression (its word features are cached), the vision graph once per slice.
// Preprocessing follows the bundle's manifest: HU window to [0, 1], the
// region of interest when the manifest names one (a box given as fractions
// of the slice, see ROIBox), bilinear resize to S×S (half-pixel centres, no
// antialiasing — PyTorch's F.interpolate(mode="bilinear",
// align_corners=False)); the logits are resized back the same way to the
// box (the slice when there is none), then sigmoid and threshold; outside
// the box the probability is 0.
//
// Subpackages build the graphs (lsms, bert, graph), read weights
// (safetensors) and bundles (bundle).
package model
