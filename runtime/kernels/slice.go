package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// SLICE (constant begin and size, size −1 meaning "to the end") and
// STRIDED_SLICE (constant begin, end and strides with begin_mask, end_mask,
// shrink_axis_mask and offset, as TFLite's strided_slice_logic.h; the
// ellipsis and new-axis masks are not supported) of any plain type, rank ≤ 6.
// Both reduce to a strided copy planned in Prepare.

func init() {
	Register(schema.BuiltinOperatorSLICE, func() Kernel { return &slice{} })
	Register(schema.BuiltinOperatorSTRIDED_SLICE, func() Kernel { return &slice{strided: true} })
}

type slice struct {
	strided bool
	cp      stridedCopy
}

func (k *slice) Prepare(ctx *Context, n *Node) (int, error) {
	if k.strided {
		if err := CheckInputs(n, 4, 4); err != nil {
			return 0, err
		}
	} else if err := CheckInputs(n, 3, 3); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	if err := layoutCheckMovable(n, in); err != nil {
		return 0, err
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	rank := in.Rank()
	if rank > layoutMaxRank {
		return 0, n.Unsupportedf("rank %d (at most %d)", rank, layoutMaxRank)
	}
	begin, err := layoutConstInts(n, n.Inputs[1], "begin")
	if err != nil {
		return 0, err
	}
	if len(begin) != rank {
		return 0, n.Errorf("begin %v has %d entries for rank %d", begin, len(begin), rank)
	}
	start := make([]int, rank)
	count := make([]int, rank)
	step := make([]int, rank)
	var oshape []int
	if !k.strided {
		size, err := layoutConstInts(n, n.Inputs[2], "size")
		if err != nil {
			return 0, err
		}
		if len(size) != rank {
			return 0, n.Errorf("size %v has %d entries for rank %d", size, len(size), rank)
		}
		for i, d := range in.Shape {
			b, s := begin[i], size[i]
			if s == -1 {
				s = d - b
			}
			if b < 0 || s < 0 || b+s > d {
				return 0, n.Errorf("begin %v and size %v are out of range for %v", begin, size, in.Shape)
			}
			start[i], count[i], step[i] = b, s, 1
		}
		oshape = count
	} else {
		end, err := layoutConstInts(n, n.Inputs[2], "end")
		if err != nil {
			return 0, err
		}
		strides, err := layoutConstInts(n, n.Inputs[3], "strides")
		if err != nil {
			return 0, err
		}
		if len(end) != rank || len(strides) != rank {
			return 0, n.Errorf("begin %v, end %v and strides %v need %d entries", begin, end, strides, rank)
		}
		o, err := Options[schema.StridedSliceOptionsT](n)
		if err != nil {
			return 0, err
		}
		if o.EllipsisMask != 0 || o.NewAxisMask != 0 {
			return 0, n.Unsupportedf("ellipsis_mask %d / new_axis_mask %d", o.EllipsisMask, o.NewAxisMask)
		}
		oshape = []int{}
		for i, d := range in.Shape {
			st := strides[i]
			if st == 0 {
				return 0, n.Errorf("stride of axis %d is 0", i)
			}
			e := end[i]
			if o.Offset {
				e += begin[i]
			}
			b, c := stridedSliceAxis(d, begin[i], e, st, o.BeginMask>>i&1 != 0, o.EndMask>>i&1 != 0, o.ShrinkAxisMask>>i&1 != 0)
			if o.ShrinkAxisMask>>i&1 != 0 {
				if b < 0 || b >= d {
					return 0, n.Errorf("shrunk axis %d: index %d is out of range [0,%d)", i, begin[i], d)
				}
			} else {
				oshape = append(oshape, c)
			}
			start[i], count[i], step[i] = b, c, st
		}
	}
	SetShape(out, oshape)
	k.cp.plan(in.Shape, in.Type.Size(), start, count, step)
	return 0, nil
}

// stridedSliceAxis returns the first index and element count of one axis,
// following TFLite's StartForAxis and StopForAxis.
func stridedSliceAxis(size, begin, end, stride int, beginMask, endMask, shrink bool) (start, count int) {
	if size == 0 {
		return 0, 0
	}
	start = begin
	if beginMask {
		start = math.MinInt32
		if stride < 0 {
			start = math.MaxInt32
		}
	}
	if start < 0 {
		start += size
	}
	if stride > 0 {
		start = max(0, min(start, size))
	} else {
		start = max(-1, min(start, size-1))
	}
	if shrink {
		return start, 1
	}
	stop := end
	if endMask {
		stop = math.MaxInt32
		if stride < 0 {
			stop = math.MinInt32
		}
	}
	if stop < 0 {
		stop += size
	}
	if stride > 0 {
		stop = max(0, min(stop, size))
		count = max(0, (stop-start+stride-1)/stride)
	} else {
		stop = max(-1, min(stop, size-1))
		count = max(0, (start-stop-stride-1)/(-stride))
	}
	return start, count
}

func (k *slice) Eval(ctx *Context, n *Node) error {
	k.cp.run(n.Outputs[0].Data, n.Inputs[0].Data)
	return nil
}

// stridedCopy copies out[i...] = in[start + i*step] over all axes.
type stridedCopy struct {
	es                int
	count, istr, step []int // per axis: output count, input stride, step
	base              int   // input offset of the first element (elements)
	empty             bool
}

func (c *stridedCopy) plan(shape []int, es int, start, count, step []int) {
	c.es = es
	c.count = append(c.count[:0], count...)
	c.istr = layoutStrides(shape)
	c.step = append(c.step[:0], step...)
	c.base = 0
	c.empty = false
	for i := range shape {
		c.base += start[i] * c.istr[i]
		if count[i] == 0 {
			c.empty = true
		}
	}
	if len(shape) == 0 {
		c.count, c.istr, c.step = []int{1}, []int{1}, []int{1}
	}
}

func (c *stridedCopy) run(dst, src []byte) {
	if c.empty {
		return
	}
	switch c.es {
	case 1:
		stridedCopyRun(c, view[uint8](dst), view[uint8](src))
	case 2:
		stridedCopyRun(c, view[uint16](dst), view[uint16](src))
	case 4:
		stridedCopyRun(c, view[uint32](dst), view[uint32](src))
	default:
		stridedCopyRun(c, view[uint64](dst), view[uint64](src))
	}
}

func stridedCopyRun[T any](c *stridedCopy, dst, src []T) {
	r := len(c.count)
	var idx [layoutMaxRank]int
	last := c.count[r-1]
	lstep := c.step[r-1] * c.istr[r-1]
	o := 0
	for {
		off := c.base
		for i := 0; i < r-1; i++ {
			off += idx[i] * c.step[i] * c.istr[i]
		}
		d := dst[o : o+last]
		if lstep == 1 {
			copy(d, src[off:off+last])
		} else {
			for j := range d {
				d[j] = src[off]
				off += lstep
			}
		}
		o += last
		i := r - 2
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < c.count[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// sliceRef is the reference strided slice of any rank: out[i...] =
// in[start + i*step].
func sliceRef[T any](in []T, shape, start, count, step []int) []T {
	r := len(shape)
	istr := layoutStrides(shape)
	out := make([]T, layoutProd(count))
	idx := make([]int, r)
	for o := range out {
		off := 0
		for a := range r {
			off += (start[a] + idx[a]*step[a]) * istr[a]
		}
		out[o] = in[off]
		for a := r - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < count[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}
