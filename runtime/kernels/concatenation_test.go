package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConcatenationRandom(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	acts := []schema.ActivationFunctionType{actNone, actRelu, actRelu6, actReluN1To1}
	for c := range 150 {
		rank := 1 + r.Intn(5)
		base := layoutRandShape(r, rank, 5)
		axis := r.Intn(rank)
		nin := 1 + r.Intn(4)
		shapes := make([][]int, nin)
		for i := range shapes {
			shapes[i] = append([]int{}, base...)
			shapes[i][axis] = 1 + r.Intn(5)
		}
		optAxis := axis
		if r.Intn(2) == 0 {
			optAxis -= rank
		}
		act := acts[r.Intn(len(acts))]
		opts := &schema.ConcatenationOptionsT{Axis: int32(optAxis), FusedActivationFunction: act}
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8, tflite.Int32} {
			if dt == tflite.Int32 && act != actNone {
				continue
			}
			outS, outZ := float32(0.02+r.Float64()*0.05), int32(r.Intn(40)-20)
			sameQ := c%2 == 0
			var ins []*Tensor
			var f32s [][]float32
			var i8s [][]int8
			var i32s [][]int32
			for i := range nin {
				n := layoutProd(shapes[i])
				switch dt {
				case tflite.Float32:
					v := layoutRandF32(r, n)
					f32s = append(f32s, v)
					ins = append(ins, layoutTensor(fmt.Sprint("in", i), dt, shapes[i], v))
				case tflite.Int8:
					v := layoutRandI8(r, n)
					i8s = append(i8s, v)
					s, z := outS, outZ
					if !sameQ {
						s, z = float32(0.01+r.Float64()*0.1), int32(r.Intn(60)-30)
					}
					ins = append(ins, layoutQuant(layoutTensor(fmt.Sprint("in", i), dt, shapes[i], v), s, z))
				case tflite.Int32:
					v := layoutRandI32(r, n)
					i32s = append(i32s, v)
					ins = append(ins, layoutTensor(fmt.Sprint("in", i), dt, shapes[i], v))
				}
			}
			for _, th := range []int{1, 3} {
				out := &Tensor{Name: "out", Type: dt}
				if dt == tflite.Int8 {
					layoutQuant(out, outS, outZ)
				}
				name := fmt.Sprintf("case %d %v %v axis %d act %v threads %d", c, dt, shapes, optAxis, act, th)
				if err := layoutRun(t, schema.BuiltinOperatorCONCATENATION, opts, ins, []*Tensor{out}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				switch dt {
				case tflite.Float32:
					want := concatRef(f32s, shapes, axis)
					lo, hi, _ := ActivationRangeFloat(act)
					for i := range want {
						want[i] = ClampF32(want[i], lo, hi)
					}
					layoutCloseF32(t, name, out.F32(), want, 0)
				case tflite.Int32:
					layoutEqualI32(t, name, out.I32(), concatRef(i32s, shapes, axis))
				case tflite.Int8:
					// Requantize each input's values independently.
					lo, hi := ActivationRangeInt8(act, outS, outZ)
					req := make([][]int8, nin)
					for i, v := range i8s {
						req[i] = make([]int8, len(v))
						s, z := ins[i].Scale[0], ins[i].ZeroPoint[0]
						for j, q := range v {
							if s == outS && z == outZ {
								req[i][j] = ClampInt8(int32(q), lo, hi)
								continue
							}
							sc := s * (1 / outS)
							f := float32(float32(q)*sc) + float32(-z)*sc
							req[i][j] = ClampInt8(int32(math.Round(float64(f)))+outZ, lo, hi)
						}
					}
					layoutEqualI8(t, name, out.I8(), concatRef(req, shapes, axis))
				}
			}
		}
	}
}

func TestConcatenationErrors(t *testing.T) {
	a := layoutTensor("a", tflite.Float32, []int{2, 3}, make([]float32, 6))
	b := layoutTensor("b", tflite.Float32, []int{3, 3}, make([]float32, 9))
	out := &Tensor{Name: "out", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorCONCATENATION, &schema.ConcatenationOptionsT{Axis: 1}, []*Tensor{a, b}, []*Tensor{out}, 1); err == nil {
		t.Error("mismatched shapes accepted")
	}
	if err := layoutRun(t, schema.BuiltinOperatorCONCATENATION, &schema.ConcatenationOptionsT{Axis: 2}, []*Tensor{a, a}, []*Tensor{out}, 1); err == nil {
		t.Error("axis 2 of rank 2 accepted")
	}
	if err := layoutRun(t, schema.BuiltinOperatorCONCATENATION, &schema.ConcatenationOptionsT{Axis: 0, FusedActivationFunction: actTanh}, []*Tensor{a, b}, []*Tensor{out}, 1); err == nil {
		t.Error("tanh accepted")
	}
	if err := layoutRun(t, schema.BuiltinOperatorCONCATENATION, &schema.ConcatenationOptionsT{Axis: 0}, []*Tensor{a, b}, []*Tensor{out}, 1); err != nil || !SameShape(out.Shape, []int{5, 3}) {
		t.Errorf("axis 0: %v %v", err, out.Shape)
	}
}
