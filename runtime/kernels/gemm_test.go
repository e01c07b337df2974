package kernels

import (
	"fmt"
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

// gemmTEachLevel runs f at every kernel level this machine has (Go,
// AVX2, VNNI on amd64), restoring the default afterwards.
func gemmTEachLevel(t *testing.T, f func(t *testing.T, level int)) {
	levels := gemmLevels()
	defer gemmSetLevel(levels[len(levels)-1])
	for _, l := range levels {
		gemmSetLevel(l)
		t.Run(fmt.Sprintf("level%d", l), func(t *testing.T) { f(t, l) })
	}
}

// gemmTGuard returns a slice of n elements inside a buffer whose other
// elements hold canary; check reports whether any of those changed.
func gemmTGuard[T comparable](n, pad int, canary T) (inner []T, check func() bool) {
	full := make([]T, n+2*pad)
	for i := range full {
		full[i] = canary
	}
	inner = full[pad : pad+n : pad+n]
	return inner, func() bool {
		for i := range pad {
			if full[i] != canary || full[pad+n+i] != canary {
				return false
			}
		}
		return true
	}
}

// gemmTOut returns a rows×ldc output (n ≤ ldc columns used) filled with
// canary and a check that the gaps and the guard bands still hold it.
func gemmTOut[T comparable](rows, n, ldc int, canary T) ([]T, func() bool) {
	out, guard := gemmTGuard(rows*ldc, 64, canary)
	for i := range out {
		out[i] = canary
	}
	return out, func() bool {
		for i := range rows {
			for j := n; j < ldc; j++ {
				if out[i*ldc+j] != canary {
					return false
				}
			}
		}
		return guard()
	}
}

var gemmTKs = []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 257}
var gemmTNs = []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 47, 48, 49, 56, 64, 65}

// The float32 GEMM row (packing, micro-kernels, bias and clamp) matches a
// float64 reference at every kernel level, writes nothing outside its
// output, and gives each column the same bits however columns are split.
func TestGemmRowF32(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, level int) {
		rng := rand.New(rand.NewPCG(1, 2))
		canary := float32(-12345.5)
		for _, k := range gemmTKs {
			kp := gemmPadK(k)
			for _, n := range gemmTNs {
				for rows := 1; rows <= gemmMR; rows++ {
					a := gemmTRandF32(rng, rows*k, 1)
					b := gemmTRandF32(rng, n*k, 1)
					var bias []float32
					if rng.IntN(3) > 0 {
						bias = gemmTRandF32(rng, n, 1)
					}
					lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
					if rng.IntN(2) == 0 {
						lo, hi = -0.5, 2
					}
					ap, apOK := gemmTGuard(gemmMR*kp, 16, canary)
					gemmPackAF32(ap, a, 0, rows, k, k, 1)
					if rows == gemmMR {
						ap2 := make([]float32, gemmMR*kp)
						gemmPackA4F32(ap2, a, 0, k)
						gemmTCloseF32(t, "pack4", ap2, ap, 0)
					}
					bp, bpOK := gemmTGuard(gemmPackedBSizeF32(n, k), 16, canary)
					gemmPackBF32(bp, b, n, k, k, 1)
					ldc := n + rng.IntN(3)
					out, outOK := gemmTOut(rows, n, ldc, canary)
					gemmRowF32(kp, ap, bp, n, out, ldc, rows, bias, lo, hi)
					if !apOK() || !bpOK() || !outOK() {
						t.Fatalf("k=%d n=%d rows=%d: write outside the buffers", k, n, rows)
					}
					got := make([]float32, rows*n)
					want := make([]float32, rows*n)
					for i := range rows {
						copy(got[i*n:], out[i*ldc:i*ldc+n])
						for j := range n {
							var s float64
							for kk := range k {
								s += float64(a[i*k+kk]) * float64(b[j*k+kk])
							}
							if bias != nil {
								s += float64(bias[j])
							}
							want[i*n+j] = ClampF32(float32(s), lo, hi)
						}
					}
					gemmTCloseF32(t, fmt.Sprintf("k=%d n=%d rows=%d", k, n, rows), got, want, 1e-5)
					if rows == gemmMR {
						// A read in place (row stride lda) gives the same values.
						lda := k + rng.IntN(3)
						ad, adOK := gemmTGuard(3*lda+k, 8, float32(3.25))
						for i := range ad {
							ad[i] = float32(math.NaN()) // gaps between rows must not be read
						}
						for i := range rows {
							copy(ad[i*lda:], a[i*k:(i+1)*k])
						}
						out2, out2OK := gemmTOut(rows, n, ldc, canary)
						scratch := make([]float32, gemmMR*kp)
						gemmRowF32Rows(k, kp, ad, lda, scratch, bp, n, out2, ldc, bias, lo, hi)
						if !adOK() || !out2OK() {
							t.Fatalf("k=%d n=%d: direct A writes outside the buffers", k, n)
						}
						gemmTCloseF32(t, fmt.Sprintf("direct k=%d n=%d", k, n), out2, out, 0)
					}
					// Columns [c0,n) alone, as a thread's share, give the same bits.
					for c0 := 8; c0 < n; c0 += 16 {
						part := make([]float32, rows*ldc)
						var pb []float32
						if bias != nil {
							pb = bias[c0:]
						}
						gemmRowF32(kp, ap, bp[c0*kp:], n-c0, part[c0:], ldc, rows, pb, lo, hi)
						for i := range rows {
							for j := c0; j < n; j++ {
								if math.Float32bits(part[i*ldc+j]) != math.Float32bits(out[i*ldc+j]) {
									t.Fatalf("k=%d n=%d rows=%d: column %d alone gives %g, with the others %g", k, n, rows, j, part[i*ldc+j], out[i*ldc+j])
								}
							}
						}
					}
				}
			}
		}
	})
}

// gemmTRandMul returns a random per-channel requantization: multipliers
// from 2⁻³⁰ to 4 (left shifts included), occasionally 0.
func gemmTRandMul(rng *rand.Rand, n int) (mult []int32, shift []int) {
	mult, shift = make([]int32, n), make([]int, n)
	for c := range n {
		real := math.Exp2(rng.Float64()*32 - 30)
		if rng.IntN(50) == 0 {
			real = 0
		}
		mult[c], shift[c] = QuantizeMultiplier(real)
	}
	return mult, shift
}

// gemmTRandI8Ext is gemmTRandI8 over [-128,127], sometimes only extremes.
func gemmTRandI8Ext(rng *rand.Rand, n int, mode int) []int8 {
	switch mode {
	case 1:
		out := make([]int8, n)
		for i := range out {
			out[i] = []int8{-128, 127}[rng.IntN(2)]
		}
		return out
	case 2:
		out := make([]int8, n)
		for i := range out {
			out[i] = -128
		}
		return out
	}
	return gemmTRandI8(rng, n, -128, 127)
}

// The int8 GEMM row (packing with sums, micro-kernels, requantization)
// matches TFLite's integer arithmetic bit for bit at every kernel level.
func TestGemmRowI8(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, level int) {
		rng := rand.New(rand.NewPCG(3, 4))
		ks := append(append([]int{}, gemmTKs...), 1000, 3001)
		for _, k := range ks {
			kp := gemmPadK(k)
			for _, n := range gemmTNs {
				if k > 300 && n%8 != 1 {
					continue
				}
				for rows := 1; rows <= gemmMR; rows++ {
					mode := rng.IntN(4)
					a := gemmTRandI8Ext(rng, rows*k, mode)
					b := gemmTRandI8Ext(rng, n*k, mode)
					ap, apOK := gemmTGuard(gemmMR*kp, 16, int8(0x5a))
					var rs [gemmMR]int32
					gemmPackAI8(ap, a, 0, rows, k, k, 1, &rs)
					if rows == gemmMR {
						ap2 := make([]int8, gemmMR*kp)
						var rs2 [gemmMR]int32
						gemmPackA4I8(ap2, a, 0, k, &rs2)
						gemmTEqualI8(t, "pack4 i8", ap2, ap)
						if rs2 != rs {
							t.Fatalf("row sums %v, want %v", rs2, rs)
						}
					}
					bp, bpOK := gemmTGuard(gemmPackedBSizeI8(n, k), 16, int64(0x5a5a))
					cs := make([]int32, n)
					gemmPackBI8(bp, b, n, k, k, 1, cs)
					mult, shift := gemmTRandMul(rng, n)
					colAdd := gemmTRandI32(rng, n, 1<<20)
					var rowAdd [gemmMR]int32
					for i := range rowAdd {
						rowAdd[i] = int32(rng.IntN(1<<21) - 1<<20)
					}
					zp := int32(rng.IntN(256) - 128)
					lo, hi := int32(-128), int32(127)
					if rng.IntN(2) == 0 {
						lo, hi = zp, 127
					}
					muls := gemmMakeMuls(mult, shift)
					if rng.IntN(2) == 0 { // XNNPACK's fp32 output stage
						scale := make([]float32, n)
						for c := range scale {
							scale[c] = float32(float64(mult[c]) * math.Ldexp(1, shift[c]-31))
						}
						muls = gemmMakeMulsFP32(scale)
					}
					q := gemmNewQuant(colAdd, muls, zp, lo, hi)
					if rng.IntN(4) == 0 {
						q.vScale = nil
						q.vMul, q.vLeft, q.vRight, q.vMask = nil, nil, nil, nil
					}
					ldc := n + rng.IntN(3)
					out, outOK := gemmTOut(rows, n, ldc, int8(0x5a))
					gemmRowI8(kp, ap, bp, n, out, ldc, rows, &q, &rowAdd)
					if !apOK() || !bpOK() || !outOK() {
						t.Fatalf("k=%d n=%d rows=%d: write outside the buffers", k, n, rows)
					}
					if rows == gemmMR {
						// A read in place (row stride lda) gives the same values.
						lda := k + rng.IntN(5)
						ad, adOK := gemmTGuard(3*lda+k, 8, int8(0x5a))
						for i := range rows {
							copy(ad[i*lda:], a[i*k:(i+1)*k])
						}
						out2, out2OK := gemmTOut(rows, n, ldc, int8(0x5a))
						scratch := make([]int8, gemmMR*kp)
						gemmRowI8Rows(k, kp, ad, lda, scratch, bp, n, out2, ldc, &q, &rowAdd)
						if !adOK() || !out2OK() {
							t.Fatalf("k=%d n=%d: direct A writes outside the buffers", k, n)
						}
						gemmTEqualI8(t, fmt.Sprintf("direct k=%d n=%d", k, n), out2, out)
					}
					for i := range rows {
						var s int32
						for kk := range k {
							s += int32(a[i*k+kk])
						}
						if rs[i] != s {
							t.Fatalf("row sum %d = %d, want %d", i, rs[i], s)
						}
						for j := range n {
							var acc, c int32
							for kk := range k {
								acc += int32(a[i*k+kk]) * int32(b[j*k+kk])
								c += int32(b[j*k+kk])
							}
							if cs[j] != c {
								t.Fatalf("col sum %d = %d, want %d", j, cs[j], c)
							}
							v := MultiplyByQuantizedMultiplier(acc+colAdd[j]+rowAdd[i], mult[j], shift[j]) + zp
							want := int8(max(lo, min(hi, v)))
							if got := out[i*ldc+j]; got != want {
								t.Fatalf("k=%d n=%d rows=%d mode=%d: out(%d,%d) = %d, want %d (acc %d)", k, n, rows, mode, i, j, got, want, acc)
							}
						}
					}
				}
			}
		}
	})
}

// Extreme int8 values over a long K stay exact (the lane pairs of the Go
// kernel, the +128 offset and its correction of the SIMD kernels).
func TestGemmI8Extreme(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, level int) {
		const n = 24
		for _, k := range []int{4096, 1<<17 - 1} {
			kp := gemmPadK(k)
			for _, av := range []int8{-128, 127} {
				for _, bv := range []int8{-128, -127, 127} {
					a := make([]int8, gemmMR*k)
					b := make([]int8, n*k)
					for i := range a {
						a[i] = av
					}
					for i := range b {
						b[i] = bv
						if i/k%2 == 1 {
							b[i] = -bv - 1 + int8(i/k%4/2)
						}
					}
					ap := make([]int8, gemmMR*kp)
					gemmPackAI8(ap, a, 0, gemmMR, k, k, 1, nil)
					bp := make([]int64, gemmPackedBSizeI8(n, k))
					gemmPackBI8(bp, b, n, k, k, 1, nil)
					got := gemmTRawI8(kp, ap, bp, n)
					for i := range gemmMR {
						for j := range n {
							want := int32(av) * int32(b[j*k]) * int32(k)
							if got[i*n+j] != want {
								t.Fatalf("k=%d a=%d b=%d (%d,%d): %d, want %d", k, av, b[j*k], i, j, got[i*n+j], want)
							}
						}
					}
				}
			}
		}
	})
}

// gemmTRawI8Go returns the 4×n int32 products of the Go kernel.
func gemmTRawI8Go(kp int, ap []int8, bp []int64, n int) []int32 {
	out := make([]int32, gemmMR*n)
	var c [gemmMR * gemmNRI]int32
	for p := range gemmPanels(n, gemmNRI) {
		gemmKernelI8(kp, ap, bp[p*2*kp:], &c)
		for i := range gemmMR {
			for j := range min(gemmNRI, n-p*gemmNRI) {
				out[i*n+p*gemmNRI+j] = c[i*gemmNRI+j]
			}
		}
	}
	return out
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

func TestGemmSumI8(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for n := range 2000 {
		for mode := range 3 {
			v := gemmTRandI8Ext(rng, n, mode)
			var want int32
			for _, x := range v {
				want += int32(x)
			}
			if got := gemmSumI8(v); got != want {
				t.Fatalf("n=%d mode=%d: %d, want %d", n, mode, got, want)
			}
		}
	}
	v := make([]int8, 1<<17)
	for i := range v {
		v[i] = 127
	}
	if got := gemmSumI8(v); got != 127<<17 {
		t.Fatalf("long 127: %d", got)
	}
}
