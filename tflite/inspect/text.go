package inspect

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText writes r as text for people: header, inputs and outputs, operator
// counts, parameters, one line per operator with both delegates' verdicts,
// and one verdict line per delegate.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.Path != "" {
		fmt.Fprintf(&b, "model: %s\n", r.Path)
	}
	fmt.Fprintf(&b, "schema v%d, %d subgraph%s, %d operator%s, %d tensor%s",
		r.Version, r.Subgraphs, plural(r.Subgraphs), r.Operators, plural(r.Operators), r.Tensors, plural(r.Tensors))
	if r.MinRuntimeVersion != "" {
		fmt.Fprintf(&b, ", min runtime %s", r.MinRuntimeVersion)
	}
	b.WriteString("\n")
	if r.Description != "" {
		fmt.Fprintf(&b, "description: %s\n", r.Description)
	}

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, sec := range []struct {
		title string
		ts    []TensorInfo
	}{{"inputs", r.Inputs}, {"outputs", r.Outputs}} {
		fmt.Fprintf(tw, "\n%s:\n", sec.title)
		if len(sec.ts) == 0 {
			fmt.Fprintf(tw, "  (none)\n")
		}
		for _, t := range sec.ts {
			shape := shapeStr(t.Shape)
			if t.ShapeSignature != nil {
				shape += " signature " + shapeStr(t.ShapeSignature)
			}
			line := fmt.Sprintf("  %s\t%s\t%s", t.Name, t.DType, shape)
			if t.Quant != nil {
				line += "\t" + quantStr(t.Quant)
			}
			fmt.Fprintln(tw, line)
		}
	}
	tw.Flush()

	fmt.Fprintf(&b, "\noperator counts:\n")
	names := make([]string, 0, len(r.OpCounts))
	for n := range r.OpCounts {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ci, cj := r.OpCounts[names[i]], r.OpCounts[names[j]]
		if ci != cj {
			return ci > cj
		}
		return names[i] < names[j]
	})
	if len(names) == 0 {
		fmt.Fprintf(tw, "  (none)\n")
	}
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%d\n", n, r.OpCounts[n])
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nparameters: %d in %s\n", r.TotalParams, byteStr(r.TotalBytes))
	dts := make([]string, 0, len(r.ParamsByDType))
	for d := range r.ParamsByDType {
		dts = append(dts, d)
	}
	sort.Slice(dts, func(i, j int) bool {
		bi, bj := r.ParamsByDType[dts[i]].Bytes, r.ParamsByDType[dts[j]].Bytes
		if bi != bj {
			return bi > bj
		}
		return dts[i] < dts[j]
	})
	for _, d := range dts {
		s := r.ParamsByDType[d]
		fmt.Fprintf(tw, "  %s\t%d tensor%s\t%d elements\t%s\n", d, s.Tensors, plural(s.Tensors), s.Elements, byteStr(s.Bytes))
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nops:\n")
	fmt.Fprintf(tw, "  #\top\tinputs\toutputs\tGPU\tXNNPACK\n")
	for _, op := range r.Ops {
		id := fmt.Sprint(op.Index)
		if r.Subgraphs > 1 {
			id = fmt.Sprintf("%d:%d", op.Subgraph, op.Index)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", id, op.Op, operandsStr(op.Inputs), operandsStr(op.Outputs), verdictStr(op.GPU), verdictStr(op.XNNPACK))
	}
	tw.Flush()

	fmt.Fprintf(&b, "\ndelegates:\n")
	for _, d := range r.Delegates {
		fmt.Fprintf(&b, "  %s: %s\n", d.Name, d.Verdict)
		if d.Note != "" {
			fmt.Fprintf(&b, "    (%s)\n", d.Note)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quantStr(q *QuantInfo) string {
	if q == nil {
		return ""
	}
	if len(q.Scale) == 1 {
		zp := int64(0)
		if len(q.ZeroPoint) > 0 {
			zp = q.ZeroPoint[0]
		}
		return fmt.Sprintf("scale=%g zero_point=%d", q.Scale[0], zp)
	}
	return fmt.Sprintf("per-axis along dim %d (%d scales)", q.Dim, len(q.Scale))
}

func operandsStr(os []Operand) string {
	parts := make([]string, len(os))
	for i, o := range os {
		switch {
		case o.Tensor < 0:
			parts[i] = "-"
		case o.Const:
			parts[i] = "const " + o.DType + shapeStr(o.Shape)
		default:
			parts[i] = o.DType + shapeStr(o.Shape)
		}
	}
	return strings.Join(parts, ", ")
}

func verdictStr(v Verdict) string {
	if v.OK {
		return "yes"
	}
	return "no: " + v.Reason
}

func byteStr(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
