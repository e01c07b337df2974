package synth

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// This file is an independent checker: it reads each expression's TEXT
// with its own small vocabulary (not the generator's phrase bank or
// query code), evaluates what it says against the attributes of every
// lesion listed on the slice, and requires that exactly the target
// matches. It also requires the text to state exactly the attributes the
// record claims it states.

type claim struct {
	keys     map[string]bool
	typ      string
	segment  string
	lobe     string
	diameter float64
	shape    string
	boundary string
	density  string
	ring     bool
	feature  string
	relation bool
	relKind  string
	relOrder string
	landmark string
	count    int
}

var (
	typeStems = []struct{ stem, typ string }{
		{"focal nodular hyperplasia", dataset.TypeFNH}, {"fnh", dataset.TypeFNH},
		{"hepatocellular carcinoma", dataset.TypeHCC}, {"hcc", dataset.TypeHCC}, {"liver cancer", dataset.TypeHCC},
		{"metasta", dataset.TypeMetastasis}, {"secondary lesion", dataset.TypeMetastasis},
		{"hemangioma", dataset.TypeHemangioma}, {"vascular tumor", dataset.TypeHemangioma},
		{"cyst", dataset.TypeCyst},
	}
	reSegment  = regexp.MustCompile(`\bsegment (IVa|IVb|VIII|VII|VI|V|III|II|I)\b|\b(IVa|IVb|VIII|VII|VI|V|III|II|I) segment\b`)
	reLobe     = regexp.MustCompile(`\b(right|left|caudate) (?:hepatic |liver )?lobe\b`)
	reDiameter = regexp.MustCompile(`(\d+\.\d) ?mm\b`)
	reShape    = regexp.MustCompile(`\b(round|oval|lobulated|irregular)\b`)
	reBlurred  = regexp.MustCompile(`blurred|unclear boundary|ill-defined|indistinct`)
	reClear    = regexp.MustCompile(`clear boundary|well-defined|sharp margin`)
	reNoRing   = regexp.MustCompile(`\bno (ring|rim) enhancement`)
	reRing     = regexp.MustCompile(`\b(ring|rim|ring-like) enhancement`)
	reRelation = regexp.MustCompile(`\b(larger|bigger|largest|biggest|smaller|smallest|more|most|further|furthest|nearest|closest)\b`)
	reCount    = regexp.MustCompile(`\b(two|three|four)\b`)
	reLarger   = regexp.MustCompile(`\b(larger|bigger|largest|biggest)\b`)
	reSmaller  = regexp.MustCompile(`\b(smaller|smallest)\b`)
	reSide     = regexp.MustCompile(`\b(anterior|posterior|right|left)\b`)
)

// readClaim parses an expression's text.
func readClaim(text string) (*claim, error) {
	lt := strings.ToLower(text)
	c := &claim{keys: map[string]bool{}}
	types := map[string]bool{}
	for _, ts := range typeStems {
		if strings.Contains(lt, ts.stem) {
			types[ts.typ] = true
		}
	}
	if len(types) > 1 {
		return nil, fmt.Errorf("names several types %v", types)
	}
	for t := range types {
		c.typ = t
	}
	if reRelation.MatchString(lt) {
		c.relation = true
		c.count = map[string]int{"two": 2, "three": 3, "four": 4}[reCount.FindString(lt)]
		switch {
		case reLarger.MatchString(lt):
			c.relKind, c.relOrder = dataset.RelSize, "larger"
		case reSmaller.MatchString(lt):
			c.relKind, c.relOrder = dataset.RelSize, "smaller"
		case strings.Contains(lt, "gallbladder"):
			c.relKind, c.relOrder, c.landmark = dataset.RelLandmark, "nearest", dataset.LandmarkGallbladderFossa
		case strings.Contains(lt, "vena cava") || strings.Contains(lt, "ivc"):
			c.relKind, c.relOrder, c.landmark = dataset.RelLandmark, "nearest", dataset.LandmarkIVC
		default:
			m := reSide.FindAllString(lt, -1)
			if len(m) != 1 {
				return nil, fmt.Errorf("relation without one direction: %q", m)
			}
			c.relKind, c.relOrder = dataset.RelPosition, m[0]
		}
		return c, nil
	}
	if c.typ != "" {
		c.keys[dataset.KeyType] = true
	}
	if m := reSegment.FindStringSubmatch(text); m != nil {
		c.segment = m[1] + m[2]
		c.keys[dataset.KeySegment] = true
	}
	if m := reLobe.FindStringSubmatch(lt); m != nil {
		c.lobe = m[1]
		c.keys[dataset.KeyLobe] = true
	}
	if ms := reDiameter.FindAllStringSubmatch(lt, -1); ms != nil {
		if len(ms) > 1 {
			return nil, fmt.Errorf("several sizes")
		}
		c.diameter, _ = strconv.ParseFloat(ms[0][1], 64)
		c.keys[dataset.KeyDiameter] = true
	}
	if ms := reShape.FindAllString(lt, -1); ms != nil {
		if len(ms) > 1 {
			return nil, fmt.Errorf("several shapes %v", ms)
		}
		c.shape = ms[0]
		c.keys[dataset.KeyShape] = true
	}
	switch {
	case reBlurred.MatchString(lt):
		c.boundary = "blurred"
	case reClear.MatchString(lt):
		c.boundary = "clear"
	}
	if c.boundary != "" {
		c.keys[dataset.KeyBoundary] = true
	}
	switch {
	case strings.Contains(lt, "slightly high") || strings.Contains(lt, "slightly hyperdense"):
		c.density = "slightly high"
	case strings.Contains(lt, "mixed density") || strings.Contains(lt, "heterogeneous"):
		c.density = "mixed"
	case strings.Contains(lt, "iso-density") || strings.Contains(lt, "isodense"):
		c.density = "iso"
	case strings.Contains(lt, "low density") || strings.Contains(lt, "low-density") ||
		strings.Contains(lt, "hypodense") || strings.Contains(lt, "low attenuation"):
		c.density = "low"
	}
	if c.density != "" {
		c.keys[dataset.KeyDensity] = true
	}
	switch {
	case reNoRing.MatchString(lt):
		c.keys[dataset.KeyRing] = true
	case reRing.MatchString(lt):
		c.keys[dataset.KeyRing] = true
		c.ring = true
	}
	switch {
	case strings.Contains(lt, "nodular enhancement"):
		c.feature = "peripheral nodular enhancement"
	case strings.Contains(lt, "capsule"):
		c.feature = "capsule"
	case strings.Contains(lt, "scar"):
		c.feature = "central scar"
	case strings.Contains(lt, "target sign") || strings.Contains(lt, "bull's-eye"):
		c.feature = "target sign"
	}
	if c.feature != "" {
		c.keys[dataset.KeyFeature] = true
	}
	return c, nil
}

// holds evaluates a non-relational claim on one lesion.
func (c *claim) holds(l *dataset.Lesion) bool {
	ok := true
	if c.keys[dataset.KeyType] {
		ok = ok && l.Type == c.typ
	}
	if c.keys[dataset.KeySegment] {
		ok = ok && l.Segment == c.segment
	}
	if c.keys[dataset.KeyLobe] {
		ok = ok && l.Lobe == c.lobe
	}
	if c.keys[dataset.KeyDiameter] {
		tol := math.Max(dataset.DiameterTolMM, dataset.DiameterTolFrac*c.diameter)
		ok = ok && math.Abs(l.DiameterMM-c.diameter) <= tol
	}
	if c.keys[dataset.KeyShape] {
		ok = ok && l.Shape == c.shape
	}
	if c.keys[dataset.KeyBoundary] {
		ok = ok && l.Boundary == c.boundary
	}
	if c.keys[dataset.KeyDensity] {
		ok = ok && l.Density == c.density
	}
	if c.keys[dataset.KeyRing] {
		ok = ok && l.RingEnhancement == c.ring
	}
	if c.keys[dataset.KeyFeature] {
		ok = ok && l.Feature == c.feature
	}
	return ok
}

// referents returns the IDs of the lesions the claim picks on the slice.
func (c *claim) referents(r *dataset.Record) []int {
	var out []int
	if !c.relation {
		for i := range r.Lesions {
			if c.holds(&r.Lesions[i]) {
				out = append(out, r.Lesions[i].ID)
			}
		}
		return out
	}
	var group []dataset.Lesion
	for _, l := range r.Lesions {
		if c.typ == "" || l.Type == c.typ {
			group = append(group, l)
		}
	}
	if len(group) < 2 || (c.count != 0 && c.count != len(group)) {
		return nil
	}
	key := func(l dataset.Lesion) float64 {
		switch c.relOrder {
		case "larger":
			return -l.DiameterMM
		case "smaller":
			return l.DiameterMM
		case "anterior":
			return l.CentroidPatient[1]
		case "posterior":
			return -l.CentroidPatient[1]
		case "right":
			return l.CentroidPatient[0]
		case "left":
			return -l.CentroidPatient[0]
		}
		p := r.Landmarks.IVC
		if c.landmark == dataset.LandmarkGallbladderFossa {
			p = r.Landmarks.GallbladderFossa
		}
		dx, dy, dz := l.CentroidPatient[0]-p[0], l.CentroidPatient[1]-p[1], l.CentroidPatient[2]-p[2]
		return math.Sqrt(dx*dx + dy*dy + dz*dz)
	}
	sort.Slice(group, func(i, j int) bool { return key(group[i]) < key(group[j]) })
	first, second := group[0], group[1]
	var clear bool
	switch c.relKind {
	case dataset.RelSize:
		a, b := first.DiameterMM, second.DiameterMM
		if c.relOrder == "smaller" {
			a, b = b, a
		}
		clear = a >= dataset.SizeRatio*b
	case dataset.RelPosition:
		clear = key(second)-key(first) >= dataset.PositionMarginMM
	case dataset.RelLandmark:
		clear = key(second)-key(first) >= dataset.PositionMarginMM && key(first) <= dataset.LandmarkRatio*key(second)
	}
	if !clear {
		return nil
	}
	return []int{first.ID}
}

func TestExpressionsUniqueIndependentCheck(t *testing.T) {
	d, _ := fixture(t)
	counts := map[string]int{}
	for i := range d.Records {
		r := &d.Records[i]
		for _, e := range r.Expressions {
			counts[e.Level]++
			c, err := readClaim(e.Text)
			if err != nil {
				t.Fatalf("%s %q: %v", r.Mask, e.Text, err)
			}
			if (e.Level == dataset.LevelRelational) != c.relation {
				t.Fatalf("%s %q: level %s but relational=%v", r.Mask, e.Text, e.Level, c.relation)
			}
			if c.relation {
				rel := e.Relation
				if rel == nil || rel.Kind != c.relKind || rel.Order != c.relOrder || rel.Landmark != c.landmark ||
					rel.Among != c.typ || rel.Count != c.count {
					t.Fatalf("%s %q: text says %+v, record says %+v", r.Mask, e.Text, c, rel)
				}
			} else {
				var got []string
				for k := range c.keys {
					got = append(got, k)
				}
				want := append([]string(nil), e.Attributes...)
				sort.Strings(got)
				sort.Strings(want)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("%s %q: text states %v, record says %v", r.Mask, e.Text, got, want)
				}
			}
			ids := c.referents(r)
			if len(ids) != 1 || ids[0] != r.TargetID {
				t.Errorf("%s %q (%s): refers to %v, target is %d", r.Mask, e.Text, e.Level, ids, r.TargetID)
			}
		}
	}
	for _, lv := range []string{dataset.LevelFull, dataset.LevelHalf, dataset.LevelQuarter, dataset.LevelRelational} {
		if counts[lv] == 0 {
			t.Errorf("no %s expressions", lv)
		}
	}
	t.Logf("checked %v", counts)
}

// TestLevelsSize checks that half and quarter keep about 1/2 and 1/4 of
// the full description's attributes.
func TestLevelsSize(t *testing.T) {
	d, _ := fixture(t)
	for _, r := range d.Records {
		n := len(fullKeys(&r.Target))
		for _, e := range r.Expressions {
			want := map[string]int{
				dataset.LevelFull:    n,
				dataset.LevelHalf:    int(math.Round(float64(n) / 2)),
				dataset.LevelQuarter: int(math.Round(float64(n) / 4)),
			}
			if w, ok := want[e.Level]; ok && len(e.Attributes) != w {
				t.Fatalf("%s %s: %d attributes, want %d", r.Mask, e.Level, len(e.Attributes), w)
			}
		}
	}
}

func TestRelationWinnerRejectsCloseCalls(t *testing.T) {
	ls := []dataset.Lesion{
		{ID: 1, Type: dataset.TypeCyst, DiameterMM: 20, CentroidPatient: [3]float64{0, 0, 0}},
		{ID: 2, Type: dataset.TypeCyst, DiameterMM: 17, CentroidPatient: [3]float64{5, 30, 0}},
	}
	lm := dataset.Landmarks{}
	// 20 vs 17 mm is not clearly larger
	if _, ok := relationWinner(&dataset.Relation{Kind: dataset.RelSize, Order: "larger", Count: 2}, ls, lm); ok {
		t.Fatal("size relation accepted a 1.18 ratio")
	}
	// 30 mm apart antero-posteriorly is clear; 5 mm laterally is not
	if id, ok := relationWinner(&dataset.Relation{Kind: dataset.RelPosition, Order: "anterior", Count: 2}, ls, lm); !ok || id != 1 {
		t.Fatal("anterior relation")
	}
	if _, ok := relationWinner(&dataset.Relation{Kind: dataset.RelPosition, Order: "right", Count: 2}, ls, lm); ok {
		t.Fatal("right relation accepted a 5 mm margin")
	}
	// a wrong stated count fails
	if _, ok := relationWinner(&dataset.Relation{Kind: dataset.RelPosition, Order: "anterior", Count: 3}, ls, lm); ok {
		t.Fatal("wrong count accepted")
	}
}

// TestRenderedTextsParse renders many expressions for synthetic lesions
// and checks that the independent reader recovers the stated keys.
func TestRenderedTextsParse(t *testing.T) {
	r := newRNG(3)
	base := dataset.Lesion{ID: 1, Type: dataset.TypeHCC, Segment: "IVb", Lobe: "left", DiameterMM: 23.4,
		Shape: "lobulated", Boundary: "blurred", Density: "mixed", Feature: "capsule"}
	for _, typ := range dataset.Types {
		for _, seg := range dataset.Segments {
			l := base
			l.Type, l.Segment, l.Lobe = typ, seg, dataset.LobeOf(seg)
			keys := fullKeys(&l)
			for k := 1; k <= len(keys); k++ {
				for _, sub := range subsets(keys, k) {
					text := renderAttrs(r, sub, &l)
					c, err := readClaim(text)
					if err != nil {
						t.Fatalf("%q: %v", text, err)
					}
					if len(c.keys) != len(sub) || !c.holds(&l) || c.relation {
						t.Fatalf("%q: read %+v from keys %v", text, c.keys, sub)
					}
				}
			}
		}
	}
}
