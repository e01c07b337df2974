package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// ewTensor makes a tensor holding data ([]float32, []int8 or []int32).
func ewTensor(shape []int, data any, scale float32, zp int32) *Tensor {
	raw, dt, err := tflite.EncodeData(data)
	if err != nil {
		panic(err)
	}
	t := &Tensor{Type: dt, Shape: append([]int{}, shape...)}
	buf := make([]byte, len(raw)+8)
	t.Data = buf[:len(raw):len(raw)]
	copy(t.Data, raw)
	if scale > 0 {
		t.Scale, t.ZeroPoint = []float32{scale}, []int32{zp}
	}
	return t
}

// ewRunNode prepares and evaluates one operator with threads goroutines;
// it returns the output tensor or the Prepare/Eval error.
func ewRunNode(t testing.TB, op schema.BuiltinOperator, opts any, ins []*Tensor, outType tflite.DType, oScale float32, oZP int32, threads int) (*Tensor, error) {
	t.Helper()
	f, ok := Lookup(op)
	if !ok {
		t.Fatalf("no kernel for %v", op)
	}
	out := &Tensor{Type: outType}
	if oScale > 0 {
		out.Scale, out.ZeroPoint = []float32{oScale}, []int32{oZP}
	}
	n := &Node{Op: op, Options: opts, Inputs: ins, Outputs: []*Tensor{out}}
	ctx := &Context{Threads: threads, Pool: NewPool(threads)}
	defer ctx.Pool.Close()
	k := f()
	s, err := k.Prepare(ctx, n)
	if err != nil {
		return nil, err
	}
	n.Scratch = make([]byte, s)
	out.Data = make([]byte, out.Bytes()+8)[:out.Bytes()]
	if err := k.Eval(ctx, n); err != nil {
		return nil, err
	}
	return out, nil
}

// ewRandShapes returns two shapes that broadcast, rank ≤ 6.
func ewRandShapes(rng *rand.Rand) ([]int, []int) {
	r := rng.IntN(7)
	out := make([]int, r)
	for i := range out {
		out[i] = 1 + rng.IntN(5)
	}
	pick := func() []int {
		k := rng.IntN(r + 1)
		s := append([]int{}, out[r-k:]...)
		for i := range s {
			if rng.IntN(3) == 0 {
				s[i] = 1
			}
		}
		return s
	}
	return pick(), pick()
}

func ewNumel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func ewRandF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 3)
	}
	return v
}

func ewRandI8(rng *rand.Rand, n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(rng.IntN(256) - 128)
	}
	return v
}

func TestEwBroadcastFloatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	type opCase struct {
		op   schema.BuiltinOperator
		opts any
		ref  func(a []float32, as []int, b []float32, bs []int) ([]float32, []int)
	}
	inf := float32(math.Inf(1))
	ops := []opCase{
		{schema.BuiltinOperatorADD, &schema.AddOptionsT{}, func(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
			return addRefF32(a, as, b, bs, 1, -inf, inf)
		}},
		{schema.BuiltinOperatorADD, &schema.AddOptionsT{FusedActivationFunction: actRelu6}, func(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
			return addRefF32(a, as, b, bs, 1, 0, 6)
		}},
		{schema.BuiltinOperatorSUB, &schema.SubOptionsT{FusedActivationFunction: actRelu}, func(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
			return addRefF32(a, as, b, bs, -1, 0, inf)
		}},
		{schema.BuiltinOperatorMUL, &schema.MulOptionsT{FusedActivationFunction: actReluN1To1}, func(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
			return mulRefF32(a, as, b, bs, -1, 1)
		}},
		{schema.BuiltinOperatorDIV, nil, func(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
			return divRefF32(a, as, b, bs, -inf, inf)
		}},
		{schema.BuiltinOperatorSQUARED_DIFFERENCE, nil, sqDiffRefF32},
	}
	for it := range 300 {
		as, bs := ewRandShapes(rng)
		if it%10 == 0 {
			as = []int{64, 300} // large enough for several chunks
			bs = []int{300}
		}
		a, b := ewRandF32(rng, ewNumel(as)), ewRandF32(rng, ewNumel(bs))
		oc := ops[it%len(ops)]
		want, ws := oc.ref(a, as, b, bs)
		for _, th := range []int{1, 4} {
			out, err := ewRunNode(t, oc.op, oc.opts, []*Tensor{ewTensor(as, a, 0, 0), ewTensor(bs, b, 0, 0)}, tflite.Float32, 0, 0, th)
			if err != nil {
				t.Fatalf("%v %v %v: %v", oc.op, as, bs, err)
			}
			if !SameShape(out.Shape, ws) {
				t.Fatalf("%v %v %v: shape %v, want %v", oc.op, as, bs, out.Shape, ws)
			}
			got := out.F32()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v %v %v threads %d: elem %d = %g, want %g", oc.op, as, bs, th, i, got[i], want[i])
				}
			}
		}
	}
}

func TestEwBroadcastInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	for it := range 300 {
		as, bs := ewRandShapes(rng)
		if it%10 == 0 {
			as, bs = []int{2, 1, 9000}, []int{3, 1}
		}
		if it%5 == 3 {
			// NHWC minus/times a per-channel row (every op in turn): the
			// int8 rows kernels (a multiple of 8 channels) and the
			// row-by-row path (others)
			c := 8 * (1 + rng.IntN(6))
			if it/5%2 == 1 {
				c = 1 + rng.IntN(40)
			}
			as, bs = []int{1, 2 + rng.IntN(7), 1 + rng.IntN(5), c}, []int{1, 1, 1, c}
		}
		a, b := ewRandI8(rng, ewNumel(as)), ewRandI8(rng, ewNumel(bs))
		sa, sb, so := 0.01+rng.Float32()*0.2, 0.01+rng.Float32()*0.2, 0.01+rng.Float32()*0.3
		za, zb, zo := int32(rng.IntN(41)-20), int32(rng.IntN(41)-20), int32(rng.IntN(41)-20)
		if it%7 == 5 {
			so = sa / 300 // outside XNNPACK's range: TFLite's fixed-point path
		}
		var op schema.BuiltinOperator
		var opts any
		var f func(x, y int8) int8
		nn := &Node{}
		switch it % 4 {
		case 0, 1:
			act, sign := actRelu, int32(1)
			op, opts = schema.BuiltinOperatorADD, &schema.AddOptionsT{FusedActivationFunction: act}
			if it%4 == 1 {
				act, sign = actNone, -1
				op, opts = schema.BuiltinOperatorSUB, nil
			}
			xlo, xhi, _ := ewXNNActRangeI8(nn, act, so, zo)
			p, ok := newAddQuantParamsXNN(sa, za, sb, zb, so, zo, float32(sign), xlo, xhi)
			if !ok {
				lo, hi := ActivationRangeInt8(act, so, zo)
				p = newAddQuantParams(sa, za, sb, zb, so, zo, sign, lo, hi)
			}
			f = p.apply
		case 2:
			op, opts = schema.BuiltinOperatorMUL, nil
			p, ok := newMulQuantParamsXNN(sa, za, sb, zb, so, zo, -128, 127)
			if !ok {
				p = newMulQuantParams(sa, za, sb, zb, so, zo, -128, 127)
			}
			f = p.apply
		case 3:
			op, opts = schema.BuiltinOperatorSQUARED_DIFFERENCE, nil
			p := newSqDiffQuantParams(sa, za, sb, zb, so, zo)
			f = p.apply
		}
		want, _ := ewRefBinary(a, as, b, bs, f)
		// The fixed-point result is within one unit of the real value.
		real, _ := ewRefBinary(a, as, b, bs, func(x, y int8) int8 {
			fx, fy := float64(sa)*float64(int32(x)-za), float64(sb)*float64(int32(y)-zb)
			var r float64
			switch it % 4 {
			case 0:
				r = max(fx+fy, 0)
			case 1:
				r = fx - fy
			case 2:
				r = fx * fy
			case 3:
				r = (fx - fy) * (fx - fy)
			}
			return int8(max(-128, min(127, math.Round(r/float64(so))+float64(zo))))
		})
		for _, th := range []int{1, 3} {
			out, err := ewRunNode(t, op, opts, []*Tensor{ewTensor(as, a, sa, za), ewTensor(bs, b, sb, zb)}, tflite.Int8, so, zo, th)
			if err != nil {
				t.Fatal(err)
			}
			got := out.I8()
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v %v %v threads %d: elem %d = %d, want %d", op, as, bs, th, i, got[i], want[i])
				}
				if d := int(got[i]) - int(real[i]); d > 1 || d < -1 {
					t.Fatalf("%v: elem %d = %d, real value rounds to %d", op, i, got[i], real[i])
				}
			}
		}
	}
}

func TestEwInt32Ops(t *testing.T) {
	a := ewTensor([]int{2, 3}, []int32{1, -7, 9, 100, -100, 5}, 0, 0)
	b := ewTensor([]int{3}, []int32{2, 3, -4}, 0, 0)
	cases := []struct {
		op   schema.BuiltinOperator
		opts any
		want []int32
	}{
		{schema.BuiltinOperatorADD, &schema.AddOptionsT{FusedActivationFunction: actRelu}, []int32{3, 0, 5, 102, 0, 1}},
		{schema.BuiltinOperatorSUB, nil, []int32{-1, -10, 13, 98, -103, 9}},
		{schema.BuiltinOperatorMUL, &schema.MulOptionsT{FusedActivationFunction: actRelu6}, []int32{2, 0, 0, 6, 0, 0}},
		{schema.BuiltinOperatorDIV, nil, []int32{0, -2, -2, 50, -33, -1}},
		{schema.BuiltinOperatorSQUARED_DIFFERENCE, nil, []int32{1, 100, 169, 9604, 10609, 81}},
	}
	for _, c := range cases {
		out, err := ewRunNode(t, c.op, c.opts, []*Tensor{a, b}, tflite.Int32, 0, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if out.I32()[i] != w {
				t.Errorf("%v: got %v, want %v", c.op, out.I32(), c.want)
				break
			}
		}
	}
	zero := ewTensor([]int{3}, []int32{2, 0, -4}, 0, 0)
	if _, err := ewRunNode(t, schema.BuiltinOperatorDIV, nil, []*Tensor{a, zero}, tflite.Int32, 0, 0, 1); err == nil {
		t.Error("int32 division by zero did not fail")
	}
}

func TestEwRejects(t *testing.T) {
	a := ewTensor([]int{2, 3}, make([]int8, 6), 0.1, 0)
	b := ewTensor([]int{3}, make([]int8, 3), 0.1, 0)
	if _, err := ewRunNode(t, schema.BuiltinOperatorDIV, nil, []*Tensor{a, b}, tflite.Int8, 0.1, 0, 1); err == nil {
		t.Error("int8 DIV accepted")
	}
	f := ewTensor([]int{2, 3}, make([]float32, 6), 0, 0)
	g := ewTensor([]int{2}, make([]float32, 2), 0, 0)
	if _, err := ewRunNode(t, schema.BuiltinOperatorADD, nil, []*Tensor{f, g}, tflite.Float32, 0, 0, 1); err == nil {
		t.Error("non-broadcastable shapes accepted")
	}
	if _, err := ewRunNode(t, schema.BuiltinOperatorADD, &schema.AddOptionsT{FusedActivationFunction: actTanh}, []*Tensor{f, f}, tflite.Float32, 0, 0, 1); err == nil {
		t.Error("fused TANH accepted")
	}
	big := ewTensor([]int{1, 1, 1, 1, 1, 1, 2}, make([]float32, 2), 0, 0)
	if _, err := ewRunNode(t, schema.BuiltinOperatorADD, nil, []*Tensor{big, big}, tflite.Float32, 0, 0, 1); err == nil {
		t.Error("rank 7 accepted")
	}
	x := ewTensor([]int{4}, make([]int8, 4), 0.1, 0)
	if _, err := ewRunNode(t, schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []*Tensor{x}, tflite.Int8, 1.0/256, 0, 1); err == nil {
		t.Error("int8 SOFTMAX with zero point 0 accepted")
	}
	if _, err := ewRunNode(t, schema.BuiltinOperatorLOGISTIC, nil, []*Tensor{x}, tflite.Int8, 1.0/128, -128, 1); err == nil {
		t.Error("int8 LOGISTIC with scale 1/128 accepted")
	}
}

func TestEwBcastMerging(t *testing.T) {
	var bc ewBcast
	bc.init([]int{2, 3, 4}, []int{2, 3, 4}, []int{2, 3, 4})
	if bc.rank != 1 || bc.inner != 24 || bc.rows != 1 {
		t.Errorf("same shape: %+v", bc)
	}
	bc.init([]int{5, 6, 7}, []int{7}, []int{5, 6, 7})
	if bc.rank != 2 || bc.inner != 7 || bc.rows != 30 || bc.ia != 1 || bc.ib != 1 {
		t.Errorf("last-axis broadcast: %+v", bc)
	}
	bc.init([]int{5, 6, 7}, []int{}, []int{5, 6, 7})
	if bc.rank != 1 || bc.ib != 0 || bc.rows != 1 {
		t.Errorf("scalar: %+v", bc)
	}
	bc.init([]int{5, 1}, []int{1, 7}, []int{5, 7})
	if bc.rank != 2 || bc.ia != 0 || bc.ib != 1 {
		t.Errorf("outer product: %+v", bc)
	}
}

// Unary ops ----------------------------------------------------------------

func TestEwUnaryFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := ewRandF32(rng, 10000)
	pos := make([]float32, len(x))
	for i, v := range x {
		pos[i] = float32(math.Abs(float64(v))) + 1e-3
	}
	cases := []struct {
		op   schema.BuiltinOperator
		opts any
		in   []float32
		f    func(float64) float64
	}{
		{schema.BuiltinOperatorRELU, nil, x, func(v float64) float64 { return max(v, 0) }},
		{schema.BuiltinOperatorRELU6, nil, x, func(v float64) float64 { return min(max(v, 0), 6) }},
		{schema.BuiltinOperatorLOGISTIC, nil, x, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{schema.BuiltinOperatorTANH, nil, x, math.Tanh},
		{schema.BuiltinOperatorGELU, nil, x, func(v float64) float64 { return v * 0.5 * (1 + math.Erf(v/math.Sqrt2)) }},
		{schema.BuiltinOperatorGELU, &schema.GeluOptionsT{Approximate: true}, x, func(v float64) float64 {
			return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}},
		{schema.BuiltinOperatorSQRT, nil, pos, math.Sqrt},
		{schema.BuiltinOperatorRSQRT, nil, pos, func(v float64) float64 { return 1 / math.Sqrt(v) }},
	}
	for _, c := range cases {
		for _, th := range []int{1, 3} {
			out, err := ewRunNode(t, c.op, c.opts, []*Tensor{ewTensor([]int{100, 100}, c.in, 0, 0)}, tflite.Float32, 0, 0, th)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range c.in {
				w := c.f(float64(v))
				if d := math.Abs(float64(out.F32()[i]) - w); d > 1e-6*max(1, math.Abs(w)) {
					t.Fatalf("%v(%g) = %g, want %g", c.op, v, out.F32()[i], w)
				}
			}
		}
	}
}

func TestEwUnaryInt8WithinOneUnit(t *testing.T) {
	all := make([]int8, 256)
	for i := range all {
		all[i] = int8(i - 128)
	}
	cases := []struct {
		op       schema.BuiltinOperator
		opts     any
		is       float32
		iz       int32
		os       float32
		oz       int32
		f        func(float64) float64
		maxUnits int
	}{
		{schema.BuiltinOperatorRELU, nil, 0.05, 3, 0.03, -100, func(v float64) float64 { return max(v, 0) }, 1},
		{schema.BuiltinOperatorRELU6, nil, 0.05, -10, 0.03, -128, func(v float64) float64 { return min(max(v, 0), 6) }, 1},
		{schema.BuiltinOperatorLOGISTIC, nil, 0.07, 5, 1.0 / 256, -128, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 1},
		{schema.BuiltinOperatorTANH, nil, 0.03, -2, 1.0 / 128, 0, math.Tanh, 1},
		{schema.BuiltinOperatorGELU, nil, 0.04, 10, 0.02, -60, func(v float64) float64 { return v * 0.5 * (1 + math.Erf(v/math.Sqrt2)) }, 1},
		{schema.BuiltinOperatorGELU, &schema.GeluOptionsT{Approximate: true}, 0.04, 10, 0.02, -60, func(v float64) float64 {
			return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}, 1},
		{schema.BuiltinOperatorSQRT, nil, 0.05, -128, 0.015, -128, math.Sqrt, 1},
		{schema.BuiltinOperatorRSQRT, nil, 0.05, -128, 0.02, -128, func(v float64) float64 { return 1 / math.Sqrt(v) }, 1},
	}
	for _, c := range cases {
		out, err := ewRunNode(t, c.op, c.opts, []*Tensor{ewTensor([]int{256}, all, c.is, c.iz)}, tflite.Int8, c.os, c.oz, 2)
		if err != nil {
			t.Fatalf("%v: %v", c.op, err)
		}
		for i, q := range all {
			v := float64(c.is) * float64(int32(q)-c.iz)
			if v == 0 && c.op == schema.BuiltinOperatorRSQRT {
				continue
			}
			w := max(-128, min(127, c.f(v)/float64(c.os)+float64(c.oz)))
			if d := math.Abs(float64(out.I8()[i]) - w); d > float64(c.maxUnits)+0.5 {
				t.Errorf("%v(%d → %g) = %d, want ≈ %.2f", c.op, q, v, out.I8()[i], w)
			}
		}
	}
	// Negative inputs make RSQRT/SQRT fail, as in TFLite.
	if _, err := ewRunNode(t, schema.BuiltinOperatorRSQRT, nil, []*Tensor{ewTensor([]int{256}, all, 0.1, 0)}, tflite.Int8, 0.1, 0, 1); err == nil {
		t.Error("RSQRT of negative int8 values did not fail")
	}
}

func TestInvSqrtQuantizedMultiplier(t *testing.T) {
	for v := int32(2); v < 1<<20; v += 1 + v/64 {
		m, s := invSqrtQuantizedMultiplierExp(v, -1)
		got := float64(m) / (1 << 31) * math.Pow(2, float64(s))
		want := 1 / math.Sqrt(float64(v))
		if math.Abs(got-want) > 1e-5*want { // 5 Newton steps in Q3.28
			t.Fatalf("invsqrt(%d) = %g (m %d shift %d), want %g", v, got, m, s, want)
		}
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := ewRandF32(rng, 7*33)
	for _, beta := range []float32{1, 0.5, 2.7} {
		out, err := ewRunNode(t, schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: beta}, []*Tensor{ewTensor([]int{7, 33}, x, 0, 0)}, tflite.Float32, 0, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		for r := range 7 {
			row := x[r*33 : (r+1)*33]
			sum := 0.0
			for _, v := range row {
				sum += math.Exp(float64(beta) * float64(v))
			}
			for j, v := range row {
				w := math.Exp(float64(beta)*float64(v)) / sum
				// float32 exp, sum and scaling (as LiteRT): a few ulp
				// of the float64 value, which is ≤ 1.
				if d := math.Abs(float64(out.F32()[r*33+j]) - w); d > 4e-7 {
					t.Fatalf("softmax row %d elem %d = %g, want %g", r, j, out.F32()[r*33+j], w)
				}
			}
		}
	}
	q := ewRandI8(rng, 5*40)
	const is = 0.08
	out, err := ewRunNode(t, schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []*Tensor{ewTensor([]int{5, 40}, q, is, 3)}, tflite.Int8, 1.0/256, -128, 2)
	if err != nil {
		t.Fatal(err)
	}
	for r := range 5 {
		row := q[r*40 : (r+1)*40]
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(is * float64(v))
		}
		for j, v := range row {
			w := max(-128, min(127, 256*math.Exp(is*float64(v))/sum-128))
			if d := math.Abs(float64(out.I8()[r*40+j]) - w); d > 1 {
				t.Fatalf("int8 softmax row %d elem %d = %d, want ≈ %.2f", r, j, out.I8()[r*40+j], w)
			}
		}
	}
}

// TestEwI8LUTRow checks the tabulated int8 row (ewI8Row above the size
// threshold) against the per-element function, for the fixed-point ADD,
// SUB, MUL and SQUARED_DIFFERENCE forms and every broadcast mode.
func TestEwI8LUTRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := range 40 {
		as, bs, os := float32(0.01+rng.Float64()), float32(0.01+rng.Float64()), float32(0.01+2*rng.Float64())
		azp, bzp, ozp := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		var f func(x, y int8) int8
		switch trial % 4 {
		case 0, 1:
			p := newAddQuantParams(as, azp, bs, bzp, os, ozp, int32(1-2*(trial%2)), -128, 127)
			f = p.apply
		case 2:
			p := newMulQuantParams(as, azp, bs, bzp, os, ozp, -128, 127)
			f = p.apply
		case 3:
			p := newSqDiffQuantParams(as, azp, bs, bzp, os*os, ozp)
			f = p.apply
		}
		lut, rows := ewI8Funcs(f, ewLUTMinElems)
		ref := ewRowFunc(f)
		n := 1 + rng.IntN(300)
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
		}
		for _, m := range [][2]int{{1, 1}, {0, 1}, {1, 0}, {0, 0}} {
			got, want := make([]int8, n), make([]int8, n)
			lut(got, a, b, m[0], m[1])
			ref(want, a, b, m[0], m[1])
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("trial %d, strides %v, element %d: %d, want %d", trial, m, i, got[i], want[i])
				}
			}
		}
		// the rows form: a of rows×inner, b one row of inner repeated
		inner := 1 + rng.IntN(40)
		nr := n / inner
		if nr > 0 {
			got, want := make([]int8, nr*inner), make([]int8, nr*inner)
			rows(got, a, b, nr, inner)
			for r := range nr {
				ref(want[r*inner:(r+1)*inner], a[r*inner:], b, 1, 1)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("trial %d, rows %d×%d, element %d: %d, want %d", trial, nr, inner, i, got[i], want[i])
				}
			}
		}
	}
}

// TestEwBinF32SIMDMatchesGo compares the float32 ADD/SUB/MUL/DIV rows
// (vector kernels where present) with the Go rows bit for bit: every
// broadcast mode, lengths around multiples of 8, clamps, NaN and ±Inf.
func TestEwBinF32SIMDMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			switch rng.IntN(20) {
			case 0:
				v[i] = float32(math.NaN())
			case 1:
				v[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
			default:
				v[i] = float32(rng.NormFloat64() * 10)
			}
		}
		return v
	}
	clamps := [][2]float32{{float32(math.Inf(-1)), float32(math.Inf(1))}, {0, float32(math.Inf(1))}, {0, 6}, {-1, 1}}
	for trial := range 300 {
		n := 1 + rng.IntN(70)
		a, b := vals(n), vals(n)
		op := trial % 4
		c := clamps[rng.IntN(len(clamps))]
		for _, m := range [][2]int{{1, 1}, {0, 1}, {1, 0}, {0, 0}} {
			got, _ := gemmTGuard(n, 8, float32(-3))
			want := make([]float32, n)
			ewBinF32(op, got, a, b, m[0], m[1], c[0], c[1])
			ewBinF32Go(op, want, a, b, m[0], m[1], c[0], c[1])
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("op %d strides %v n %d clamp %v: element %d = %g, want %g", op, m, n, c, i, got[i], want[i])
				}
			}
		}
	}
}

// TestEwI8XNNVecMatchesScalar compares the XNNPACK-form int8 ADD/SUB and
// MUL rows (vector kernels where present) with their scalar rows, every
// broadcast mode, random parameters, clamps and lengths.
func TestEwI8XNNVecMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	ran := 0
	defer func() {
		if ran < 200 {
			t.Errorf("only %d of 400 trials had XNNPACK-form parameters", ran)
		}
	}()
	for trial := range 400 {
		as, bs := float32(0.005+rng.Float64()), float32(0.005+rng.Float64())
		os := float32(0.01 + 2*rng.Float64())
		azp, bzp, ozp := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		lo, hi := int32(-128), int32(127)
		if rng.IntN(3) == 0 {
			lo, hi = max(ozp, -128), min(ozp+60, 127)
		}
		var vec, ref func(dst, a, b []int8, ia, ib int)
		if trial%2 == 0 {
			p, ok := newAddQuantParamsXNN(as, azp, bs, bzp, os, ozp, float32(1-2*rng.IntN(2)), lo, hi)
			if !ok {
				continue
			}
			vec, ref = p.rowXNNVec, p.rowXNN
		} else {
			p, ok := newMulQuantParamsXNN(as, azp, bs, bzp, os*os, ozp, lo, hi)
			if !ok {
				continue
			}
			vec, ref = p.rowXNNVec, p.rowXNN
		}
		ran++
		n := 1 + rng.IntN(90)
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
		}
		for _, m := range [][2]int{{1, 1}, {0, 1}, {1, 0}, {0, 0}} {
			got, ok := gemmTGuard(n, 16, int8(0x5a))
			want := make([]int8, n)
			vec(got, a, b, m[0], m[1])
			ref(want, a, b, m[0], m[1])
			if !ok() {
				t.Fatalf("trial %d: guard band written", trial)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("trial %d strides %v n %d: element %d = %d, want %d", trial, m, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestEwF32PerRowOperand covers float32 ADD/SUB/MUL/DIV where one input is one
// row repeated over an NHWC tensor (the vector rows kernel), either side,
// with clamps, against the reference, bit for bit.
func TestEwF32PerRowOperand(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	ops := []struct {
		op   schema.BuiltinOperator
		sign float32
	}{{schema.BuiltinOperatorADD, 1}, {schema.BuiltinOperatorSUB, -1}, {schema.BuiltinOperatorMUL, 0}, {schema.BuiltinOperatorDIV, 0}}
	for trial := range 48 {
		o := ops[trial%4]
		c := []int{8, 16, 24, 40, 12}[rng.IntN(5)]
		big, small := []int{1, 1 + rng.IntN(5), 1 + rng.IntN(7), c}, []int{1, 1, 1, c}
		as, bs := big, small
		if trial%2 == 1 {
			as, bs = small, big
		}
		a, b := gemmTRandF32(rng, layoutProd(as), 3), gemmTRandF32(rng, layoutProd(bs), 3)
		act := []schema.ActivationFunctionType{schema.ActivationFunctionTypeNONE, schema.ActivationFunctionTypeRELU6}[rng.IntN(2)]
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if act == schema.ActivationFunctionTypeRELU6 {
			lo, hi = 0, 6
		}
		var opts any
		var want []float32
		switch o.op {
		case schema.BuiltinOperatorMUL:
			opts = &schema.MulOptionsT{FusedActivationFunction: act}
			want, _ = ewRefBinary(a, as, b, bs, func(x, y float32) float32 { return ClampF32(x*y, lo, hi) })
		case schema.BuiltinOperatorSUB:
			opts = &schema.SubOptionsT{FusedActivationFunction: act}
			want, _ = addRefF32(a, as, b, bs, -1, lo, hi)
		case schema.BuiltinOperatorDIV:
			opts = &schema.DivOptionsT{FusedActivationFunction: act}
			want, _ = ewRefBinary(a, as, b, bs, func(x, y float32) float32 { return ClampF32(x/y, lo, hi) })
		default:
			opts = &schema.AddOptionsT{FusedActivationFunction: act}
			want, _ = addRefF32(a, as, b, bs, 1, lo, hi)
		}
		os := big
		for _, th := range []int{1, 2} {
			out, err := gemmTRun(t, o.op, opts, []*Tensor{gemmTTensor(as, a, false), gemmTTensor(bs, b, false)}, gemmTTensor(os, []float32{}, false), th)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range out.F32() {
				if math.Float32bits(v) != math.Float32bits(want[i]) {
					t.Fatalf("trial %d %v %v×%v threads %d: element %d = %g, want %g", trial, o.op, as, bs, th, i, v, want[i])
				}
			}
		}
	}
}

// TestSoftmaxExp checks the float32 exp of the softmax: the vector
// kernel equals the Go loop bit for bit (values, lane sums), and the
// function is within 2 ulp of exp over its range.
func TestSoftmaxExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	for trial := range 200 {
		n := 8 * (1 + rng.IntN(12))
		src := make([]float32, n)
		for i := range src {
			switch rng.IntN(12) {
			case 0:
				src[i] = -1e4 // a masked score
			case 1:
				src[i] = float32(math.NaN())
			default:
				src[i] = float32(rng.NormFloat64() * 20)
			}
		}
		m := float32(rng.NormFloat64()*5) + 60
		b := float32(0.1 + rng.Float64())
		got, want := make([]float32, n), make([]float32, n)
		var gs, ws [8]float32
		if softmaxExpSIMD(got, src, m, b, &gs) == 0 {
			softmaxExpGo(got, src, m, b, &gs)
		}
		softmaxExpGo(want, src, m, b, &ws)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d: e[%d] of %g = %g, want %g", trial, i, src[i], got[i], want[i])
			}
		}
		if gs != ws {
			t.Fatalf("trial %d: lane sums %v, want %v", trial, gs, ws)
		}
	}
	worst := 0.0
	for x := float32(-87.3); x <= 0; x += 0.0137 {
		e, ref := float64(softmaxExpF32(x)), math.Exp(float64(x))
		ulp := float64(math.Nextafter32(float32(ref), float32(math.Inf(1)))) - float64(float32(ref))
		worst = max(worst, math.Abs(e-ref)/ulp)
	}
	if worst > 2 {
		t.Errorf("softmaxExpF32: %.2f ulp from exp", worst)
	}
	if softmaxExpF32(-88) != 0 || softmaxExpF32(0) != 1 {
		t.Errorf("exp(-88) = %g, exp(0) = %g", softmaxExpF32(-88), softmaxExpF32(0))
	}
}

// softmaxMaxSIMD and scaleSIMD agree with Go's max and multiply bit for
// bit (or decline: NaN rows, short rows, no vector unit).
func TestSoftmaxMaxScaleSIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	_, simd := softmaxMaxSIMD(make([]float32, 8)) // a vector kernel is there
	special := []float32{float32(math.NaN()), float32(math.Inf(-1)), float32(math.Inf(1)), 0, float32(math.Copysign(0, -1)), -3e38}
	for n := 1; n <= 70; n++ {
		for rep := range 20 {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 10)
				if rng.IntN(8) == 0 {
					src[i] = special[rng.IntN(len(special))]
				}
			}
			if rep == 0 {
				src[n-1] = float32(math.NaN()) // in the tail or the vector part
			}
			want := src[0]
			for _, x := range src[1:max(1, n&^7)] {
				want = max(want, x)
			}
			if got, ok := softmaxMaxSIMD(src); ok {
				if math.Float32bits(got) != math.Float32bits(want) && !(got == 0 && want == 0) {
					t.Fatalf("n=%d %v: max %v, want %v", n, src, got, want)
				}
			} else if simd && n >= 8 && !math.IsNaN(float64(want)) {
				t.Fatalf("n=%d: declined a row without NaN (max %v)", n, want)
			}
			s := float32(rng.Float64())
			dst, ref := append([]float32{}, src...), append([]float32{}, src...)
			for i := scaleSIMD(dst, s); i < n; i++ {
				dst[i] *= s
			}
			for i := range ref {
				ref[i] *= s
			}
			for i := range ref {
				if math.Float32bits(dst[i]) != math.Float32bits(ref[i]) && !(math.IsNaN(float64(dst[i])) && math.IsNaN(float64(ref[i]))) {
					t.Fatalf("n=%d: scale[%d] = %v, want %v", n, i, dst[i], ref[i])
				}
			}
		}
	}
}
