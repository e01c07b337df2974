// Command demomodel writes the small float32 and int8 TFLite models that
// `make demo` runs until the LSMS bundle ships, and a sample input:
//
//	go run ./internal/demomodel -out models/demo
//
// The float model is CONV_2D 3×3 (8 filters, fixed pseudo-random weights,
// RELU) → MEAN over H,W → FULLY_CONNECTED → SOFTMAX; the int8 model is the
// same graph quantized, with float I/O through QUANTIZE/DEQUANTIZE.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

const (
	h, w, cin, cout, classes = 32, 32, 1, 8, 4
)

func main() {
	out := flag.String("out", "models/demo", "output folder")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(42, 7))
	wConv := make([]float32, cout*3*3*cin)
	for i := range wConv {
		wConv[i] = float32(rng.NormFloat64() * 0.3)
	}
	bConv := make([]float32, cout)
	for i := range bConv {
		bConv[i] = float32(rng.NormFloat64() * 0.05)
	}
	wFC := make([]float32, classes*cout)
	for i := range wFC {
		wFC[i] = float32(rng.NormFloat64() * 0.5)
	}
	bFC := make([]float32, classes)

	if err := floatModel(wConv, bConv, wFC, bFC).WriteFile(filepath.Join(*out, "demo_f32.tflite")); err != nil {
		log.Fatal(err)
	}
	img := make([]float32, h*w*cin)
	for y := range h {
		for x := range w {
			// A bright disc on a darker, noisy background: a toy "lesion".
			d := math.Hypot(float64(x-20), float64(y-12))
			v := 0.2 + 0.05*rng.NormFloat64()
			if d < 6 {
				v = 0.9
			}
			img[y*w+x] = float32(v)
		}
	}
	if err := npy.WriteFile(filepath.Join(*out, "input.npy"), &npy.Array{DType: "float32", Shape: []int{1, h, w, cin}, Data: img}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out)
}

func floatModel(wConv, bConv, wFC, bFC []float32) *tflite.Model {
	b := tflite.NewBuilder("main")
	x := b.Input("image", tflite.Float32, []int{1, h, w, cin}, nil)
	wc := b.Const("conv/weights", tflite.Float32, []int{cout, 3, 3, cin}, wConv, nil)
	bc := b.Const("conv/bias", tflite.Float32, []int{cout}, bConv, nil)
	c := b.Tensor("conv", tflite.Float32, []int{1, h, w, cout}, nil)
	b.Op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideH: 1, StrideW: 1, DilationHFactor: 1, DilationWFactor: 1, FusedActivationFunction: schema.ActivationFunctionTypeRELU}, []int{x, wc, bc}, c)
	axes := b.Const("pool/axes", tflite.Int32, []int{2}, []int32{1, 2}, nil)
	p := b.Tensor("pool", tflite.Float32, []int{1, cout}, nil)
	b.Op(schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: false}, []int{c, axes}, p)
	wf := b.Const("fc/weights", tflite.Float32, []int{classes, cout}, wFC, nil)
	bf := b.Const("fc/bias", tflite.Float32, []int{classes}, bFC, nil)
	l := b.Tensor("logits", tflite.Float32, []int{1, classes}, nil)
	b.Op(schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{}, []int{p, wf, bf}, l)
	s := b.Tensor("probs", tflite.Float32, []int{1, classes}, nil)
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{l}, s)
	b.Output(s)
	b.Signature("serving_default")
	m := b.Model()
	m.Description = "LSMS Edge demo model (not LSMS): conv3x3-relu-mean-fc-softmax"
	m.SetMinRuntimeVersion("1.14.0")
	return m
}
