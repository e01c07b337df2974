package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Test harness for the GEMM-based kernels: builds a Node from tensors,
// runs Prepare/Eval directly (no interpreter) and checks that Eval does
// not allocate.

// gemmTTensor makes a tensor; data is []float32, []int8 or []int32.
func gemmTTensor(shape []int, data any, konst bool) *Tensor {
	t := &Tensor{Shape: append([]int{}, shape...), Const: konst}
	switch d := data.(type) {
	case []float32:
		t.Type = tflite.Float32
		if len(d) > 0 {
			t.Data = unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d))
		}
	case []int8:
		t.Type = tflite.Int8
		if len(d) > 0 {
			t.Data = unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d))
		}
	case []int32:
		t.Type = tflite.Int32
		if len(d) > 0 {
			t.Data = unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d))
		}
	default:
		panic("gemmTTensor: bad data")
	}
	return t
}

func gemmTQuant(t *Tensor, scale []float32, zp []int32, dim int) *Tensor {
	t.Scale, t.ZeroPoint, t.QDim = scale, zp, dim
	return t
}

// gemmTRun prepares and evaluates op; run-time inputs get their data only
// after Prepare. It returns the output tensor.
func gemmTRun(t testing.TB, op schema.BuiltinOperator, opts any, ins []*Tensor, out *Tensor, threads int) (*Tensor, error) {
	t.Helper()
	f, ok := Lookup(op)
	if !ok {
		t.Fatalf("no kernel for %v", op)
	}
	k := f()
	saved := make([][]byte, len(ins))
	cp := make([]*Tensor, len(ins))
	for i, in := range ins {
		if in == nil {
			continue
		}
		c := *in
		if !c.Const {
			saved[i] = c.Data
			c.Data = nil
		}
		cp[i] = &c
	}
	o := *out
	o.Data = nil
	wantShape := append([]int{}, out.Shape...)
	n := &Node{Op: op, Options: opts, Inputs: cp, Outputs: []*Tensor{&o}}
	pool := NewPool(threads)
	defer pool.Close()
	ctx := &Context{Threads: threads, Pool: pool}
	scratch, err := k.Prepare(ctx, n)
	if err != nil {
		return nil, err
	}
	if !SameShape(o.Shape, wantShape) {
		t.Fatalf("output shape %v, want %v", o.Shape, wantShape)
	}
	for i := range cp {
		if cp[i] != nil && !cp[i].Const {
			cp[i].Data = saved[i]
		}
	}
	o.Data = make([]byte, o.Bytes()+64)[:o.Bytes()]
	// Poison scratch to catch reads of uninitialised memory.
	n.Scratch = make([]byte, scratch)
	for i := range n.Scratch {
		n.Scratch[i] = 0xA5
	}
	if err := k.Eval(ctx, n); err != nil {
		return nil, err
	}
	if allocs := testing.AllocsPerRun(3, func() { _ = k.Eval(ctx, n) }); allocs != 0 {
		t.Errorf("%v Eval allocates %.1f times", op, allocs)
	}
	return &o, nil
}

func gemmTRandF32(rng *rand.Rand, n int, amp float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((rng.Float64()*2 - 1) * amp)
	}
	return out
}

func gemmTRandI8(rng *rand.Rand, n int, lo, hi int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(lo + rng.IntN(hi-lo+1))
	}
	return out
}

func gemmTRandI32(rng *rand.Rand, n int, amp int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(2*amp+1) - amp)
	}
	return out
}

// gemmTAct picks a clamp activation.
func gemmTAct(rng *rand.Rand) schema.ActivationFunctionType {
	return []schema.ActivationFunctionType{actNone, actNone, actRelu, actRelu6, actReluN1To1}[rng.IntN(5)]
}

// gemmTCloseF32 checks max|got−want| ≤ tol·max(|want|, scale).
func gemmTCloseF32(t testing.TB, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	maxRef := 1e-6
	for _, v := range want {
		maxRef = max(maxRef, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*maxRef || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d is %g, want %g (max|ref| %g)", name, i, got[i], want[i], maxRef)
		}
	}
}

func gemmTEqualI8(t testing.TB, name string, got, want []int8) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %d, want %d", name, i, got[i], want[i])
		}
	}
}

// gemmTPerChannel returns per-channel weight scales max|w_c|/127 given
// float weights laid out with the channel at position ch of shape, and
// the quantized weights.
func gemmTQuantizeWeights(w []float32, shape []int, dim int, perChannel bool) ([]int8, []float32) {
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	nc := shape[dim]
	maxAbs := make([]float64, nc)
	for i, v := range w {
		c := (i / inner) % nc
		maxAbs[c] = max(maxAbs[c], math.Abs(float64(v)))
	}
	if !perChannel {
		m := 0.0
		for _, v := range maxAbs {
			m = max(m, v)
		}
		for c := range maxAbs {
			maxAbs[c] = m
		}
	}
	scales := make([]float32, nc)
	for c := range scales {
		scales[c] = float32(max(maxAbs[c], 1e-3) / 127)
	}
	q := make([]int8, len(w))
	for i, v := range w {
		c := (i / inner) % nc
		q[i] = int8(max(-127, min(127, math.Round(float64(v/scales[c])))))
	}
	if !perChannel {
		return q, scales[:1]
	}
	return q, scales
}

func TestGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 3, 8, 17, 64, 100} {
		kp := gemmPadK(k)
		for _, n := range []int{1, 2, 3, 4, 5, 9} {
			for _, rows := range []int{1, 2, 3, 4} {
				a := gemmTRandF32(rng, rows*k, 1)
				b := gemmTRandF32(rng, n*k, 1)
				bias := gemmTRandF32(rng, n, 1)
				ap := make([]float32, gemmMR*kp)
				gemmPackAF32(ap, a, 0, rows, k, k, 1)
				if rows == gemmMR {
					ap2 := make([]float32, gemmMR*kp)
					gemmPackA4F32(ap2, a, 0, k)
					gemmTCloseF32(t, "pack4", ap2, ap, 0)
				}
				bp := make([]float32, gemmPackedBSizeF32(n, k))
				gemmPackBF32(bp, b, n, k, k, 1)
				got := make([]float32, rows*n)
				gemmRowF32(kp, ap, bp, n, got, n, rows, bias, -2, 2)
				want := make([]float32, rows*n)
				for i := range rows {
					for j := range n {
						var s float32
						for kk := range k {
							s += a[i*k+kk] * b[j*k+kk]
						}
						want[i*n+j] = ClampF32(s+bias[j], -2, 2)
					}
				}
				gemmTCloseF32(t, "f32", got, want, 1e-5)

				ai := gemmTRandI8(rng, rows*k, -128, 127)
				bi := gemmTRandI8(rng, n*k, -127, 127)
				api := make([]int8, gemmMR*kp)
				var rs [gemmMR]int32
				gemmPackAI8(api, ai, 0, rows, k, k, 1, &rs)
				if rows == gemmMR {
					api2 := make([]int8, gemmMR*kp)
					var rs2 [gemmMR]int32
					gemmPackA4I8(api2, ai, 0, k, &rs2)
					gemmTEqualI8(t, "pack4 i8", api2, api)
					if rs2 != rs {
						t.Fatalf("row sums %v, want %v", rs2, rs)
					}
				}
				bpi := make([]int64, gemmPackedBSizeI8(n, k))
				cs := make([]int32, n)
				gemmPackBI8(bpi, bi, n, k, k, 1, cs)
				var c [gemmMR * gemmNRI]int32
				for p := range gemmPanels(n, gemmNRI) {
					gemmKernelI8(kp, api, bpi[p*2*kp:], &c)
					for i := range rows {
						if want := func() int32 {
							var s int32
							for kk := range k {
								s += int32(ai[i*k+kk])
							}
							return s
						}(); rs[i] != want {
							t.Fatalf("row sum %d = %d, want %d", i, rs[i], want)
						}
						for j := range gemmNRI {
							col := p*gemmNRI + j
							if col >= n {
								continue
							}
							var s, cs1 int32
							for kk := range k {
								s += int32(ai[i*k+kk]) * int32(bi[col*k+kk])
								cs1 += int32(bi[col*k+kk])
							}
							if c[i*gemmNRI+j] != s {
								t.Fatalf("k=%d n=%d: int8 tile (%d,%d) = %d, want %d", k, n, i, col, c[i*gemmNRI+j], s)
							}
							if cs[col] != cs1 {
								t.Fatalf("col sum %d = %d, want %d", col, cs[col], cs1)
							}
						}
					}
				}
			}
		}
	}
}

// Extreme int8 values over a long K stay exact in the paired lanes.
func TestGemmI8LanesExtreme(t *testing.T) {
	const k = 4096
	kp := gemmPadK(k)
	for _, av := range []int8{-128, 127} {
		for _, bv := range []int8{-128, -127, 127} {
			a := make([]int8, gemmMR*k)
			b := make([]int8, gemmNRI*k)
			for i := range a {
				a[i] = av
			}
			for i := range b {
				b[i] = bv
				if i/k%2 == 1 {
					b[i] = -bv
				}
			}
			ap := make([]int8, gemmMR*kp)
			gemmPackAI8(ap, a, 0, gemmMR, k, k, 1, nil)
			bp := make([]int64, gemmPackedBSizeI8(gemmNRI, k))
			gemmPackBI8(bp, b, gemmNRI, k, k, 1, nil)
			var c [gemmMR * gemmNRI]int32
			gemmKernelI8(kp, ap, bp, &c)
			for j := range gemmNRI {
				want := int32(av) * int32(b[j*k]) * k
				if c[j] != want {
					t.Fatalf("a=%d b=%d col %d: %d, want %d", av, bv, j, c[j], want)
				}
			}
		}
	}
}

func TestGemmRequantMatchesTFLite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := []int32{0, 1, -1, 2, -2, math.MaxInt32, math.MinInt32, 1 << 30, -(1 << 30), 12345, -12345}
	for range 200000 {
		xs = append(xs[:11], int32(rng.Uint32()), int32(rng.IntN(1<<20)-1<<19))
		real := math.Exp(rng.Float64()*30 - 25)
		q, shift := QuantizeMultiplier(real)
		m := gemmMakeMul(q, shift)
		for _, x := range xs {
			if got, want := m.apply(x), MultiplyByQuantizedMultiplier(x, q, shift); got != want {
				t.Fatalf("x=%d q=%d shift=%d: %d, want %d", x, q, shift, got, want)
			}
		}
	}
}
