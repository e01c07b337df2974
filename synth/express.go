package synth

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// Phrase bank. Every phrase of a value is recognisable by a checker that
// knows the vocabulary (see express_test.go): no phrase of one value is
// contained in a phrase of another value of the same attribute, except
// where a longer phrase is checked first (e.g. "no ring enhancement").

// TypeNouns lists singular and plural names per lesion type.
var TypeNouns = map[string][][2]string{
	dataset.TypeCyst: {
		{"cyst", "cysts"}, {"hepatic cyst", "hepatic cysts"},
		{"cystic lesion", "cystic lesions"}, {"simple cyst", "simple cysts"},
	},
	dataset.TypeHemangioma: {
		{"hemangioma", "hemangiomas"}, {"vascular tumor", "vascular tumors"},
		{"hepatic hemangioma", "hepatic hemangiomas"}, {"cavernous hemangioma", "cavernous hemangiomas"},
	},
	dataset.TypeHCC: {
		{"HCC", "HCCs"}, {"hepatocellular carcinoma", "hepatocellular carcinomas"},
		{"liver cancer", "liver cancers"},
	},
	dataset.TypeMetastasis: {
		{"metastasis", "metastases"}, {"secondary lesion", "secondary lesions"},
		{"metastatic lesion", "metastatic lesions"}, {"liver metastasis", "liver metastases"},
	},
	dataset.TypeFNH: {
		{"FNH", "FNH lesions"}, {"focal nodular hyperplasia", "focal nodular hyperplasia lesions"},
	},
}

// GenericNouns name a lesion without its type.
var GenericNouns = [][2]string{
	{"lesion", "lesions"}, {"focal lesion", "focal lesions"},
	{"liver lesion", "liver lesions"}, {"hepatic lesion", "hepatic lesions"},
}

var (
	boundaryPhrases = map[string][]string{
		"clear":   {"clear boundary", "a clear boundary", "well-defined margins", "sharp margins"},
		"blurred": {"blurred boundary", "an unclear boundary", "ill-defined margins", "indistinct margins"},
	}
	boundaryAdj    = map[string][]string{"clear": {"well-defined"}, "blurred": {"ill-defined"}}
	densityPhrases = map[string][]string{
		"low":           {"low density", "hypodense appearance", "low attenuation"},
		"mixed":         {"mixed density", "heterogeneous density"},
		"iso":           {"iso-density", "isodense appearance"},
		"slightly high": {"slightly high density", "slightly hyperdense appearance"},
	}
	densityAdj = map[string][]string{
		"low": {"hypodense", "low-density"}, "mixed": {"heterogeneous"},
		"iso": {"isodense"}, "slightly high": {"slightly hyperdense"},
	}
	ringPhrases = map[bool][]string{
		true:  {"ring enhancement", "rim enhancement", "ring-like enhancement"},
		false: {"no ring enhancement", "no rim enhancement"},
	}
	featurePhrases = map[string][]string{
		"peripheral nodular enhancement": {"peripheral nodular enhancement", "discontinuous peripheral nodular enhancement"},
		"capsule":                        {"an enhancing capsule", "a tumor capsule"},
		"central scar":                   {"a central scar", "a stellate central scar"},
		"target sign":                    {"a target sign", "a bull's-eye appearance"},
	}
	countWords = map[int]string{2: "two", 3: "three", 4: "four"}
)

// article returns "a" or "an" for the word that follows.
func article(next string) string {
	if strings.HasPrefix(next, "HCC") || strings.HasPrefix(next, "FNH") {
		return "an"
	}
	if next != "" && strings.ContainsRune("aeiouAEIOU", rune(next[0])) {
		return "an"
	}
	return "a"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// joinList joins phrases as "a", "a and b", "a, b, and c" (or without
// the serial comma).
func joinList(r *rng, ps []string) string {
	switch len(ps) {
	case 0:
		return ""
	case 1:
		return ps[0]
	case 2:
		return ps[0] + " and " + ps[1]
	}
	sep := ", and "
	if r.chance(0.4) {
		sep = " and "
	}
	return strings.Join(ps[:len(ps)-1], ", ") + sep + ps[len(ps)-1]
}

func fmtMM(d float64) string { return fmt.Sprintf("%.1f", d) }

func diameterPhrase(r *rng, d float64) string {
	switch r.intn(4) {
	case 0:
		return "a diameter of " + fmtMM(d) + "mm"
	case 1:
		return "a diameter of about " + fmtMM(d) + " mm"
	case 2:
		return "a maximum diameter of " + fmtMM(d) + " mm"
	}
	return "a size of approximately " + fmtMM(d) + " mm"
}

func shapePhrase(r *rng, s string) string {
	switch r.intn(3) {
	case 0:
		return s + " shape"
	case 1:
		return article(s) + " " + s + " shape"
	}
	return article(s) + " " + s + " contour"
}

func locationPhrase(r *rng, key string, t *dataset.Lesion) string {
	if key == dataset.KeyLobe {
		if t.Lobe == dataset.LobeCaudate {
			return "in the caudate lobe"
		}
		return r.pick("in the "+t.Lobe+" lobe of the liver", "in the "+t.Lobe+" hepatic lobe", "in the "+t.Lobe+" liver lobe")
	}
	s := t.Segment
	return r.pick("in the "+s+" segment of the liver", "in segment "+s, "in liver segment "+s, "in hepatic segment "+s, "located in segment "+s)
}

// renderAttrs writes an expression stating keys (values from t).
func renderAttrs(r *rng, keys []string, t *dataset.Lesion) string {
	has := map[string]bool{}
	for _, k := range keys {
		has[k] = true
	}
	head := GenericNouns[r.intn(len(GenericNouns))][0]
	if has[dataset.KeyType] {
		ns := TypeNouns[t.Type]
		head = ns[r.intn(len(ns))][0]
	}
	loc := ""
	if has[dataset.KeySegment] {
		loc = locationPhrase(r, dataset.KeySegment, t)
	} else if has[dataset.KeyLobe] {
		loc = locationPhrase(r, dataset.KeyLobe, t)
	}
	// adjectival template: shape/density/boundary before the noun
	template := r.intn(5)
	var adjs []string
	used := map[string]bool{}
	if template == 4 {
		if has[dataset.KeyShape] {
			adjs = append(adjs, t.Shape)
			used[dataset.KeyShape] = true
		}
		if has[dataset.KeyBoundary] && r.chance(0.6) {
			adjs = append(adjs, r.pick(boundaryAdj[t.Boundary]...))
			used[dataset.KeyBoundary] = true
		}
		if has[dataset.KeyDensity] {
			adjs = append(adjs, r.pick(densityAdj[t.Density]...))
			used[dataset.KeyDensity] = true
		}
		if len(adjs) == 0 {
			template = r.intn(4)
		}
	}
	var mods []string
	for _, i := range r.perm(len(keys)) {
		k := keys[i]
		if used[k] {
			continue
		}
		switch k {
		case dataset.KeyDiameter:
			mods = append(mods, diameterPhrase(r, t.DiameterMM))
		case dataset.KeyShape:
			mods = append(mods, shapePhrase(r, t.Shape))
		case dataset.KeyBoundary:
			mods = append(mods, r.pick(boundaryPhrases[t.Boundary]...))
		case dataset.KeyDensity:
			mods = append(mods, r.pick(densityPhrases[t.Density]...))
		case dataset.KeyRing:
			mods = append(mods, r.pick(ringPhrases[t.RingEnhancement]...))
		case dataset.KeyFeature:
			mods = append(mods, r.pick(featurePhrases[t.Feature]...))
		}
	}
	np := head
	if loc != "" {
		np = head + " " + loc
	}
	list := joinList(r, mods)
	var s string
	switch {
	case template == 4:
		np = strings.Join(adjs, ", ") + " " + np
		if len(adjs) == 2 && r.chance(0.5) {
			np = adjs[0] + " " + adjs[1] + " " + head
			if loc != "" {
				np += " " + loc
			}
		}
		s = "the " + np
		if list != "" {
			s += ", with " + list
		}
	case list == "":
		s = r.pick(article(np)+" "+np, "the "+np)
	case template == 0:
		if loc != "" {
			s = article(head) + " " + np + ", with " + list
		} else {
			s = article(head) + " " + np + " with " + list
		}
	case template == 1:
		s = "the " + np + " showing " + list
	case template == 2 && loc != "":
		s = capitalize(loc) + ", " + article(head) + " " + head + " with " + list
	default:
		s = np + ": " + list
	}
	return capitalize(s) + "."
}

// renderRelation writes a relational expression.
func renderRelation(r *rng, rel *dataset.Relation) string {
	sing, plur := "", ""
	if rel.Among == "" {
		n := GenericNouns[r.intn(len(GenericNouns))]
		sing, plur = n[0], n[1]
	} else {
		ns := TypeNouns[rel.Among]
		n := ns[r.intn(len(ns))]
		sing, plur = n[0], n[1]
	}
	cw := countWords[rel.Count]
	group := "the " + cw + " " + plur
	two := rel.Count == 2
	var s string
	switch rel.Kind {
	case dataset.RelSize:
		var adj string
		switch {
		case rel.Order == "larger" && two:
			adj = r.pick("larger", "bigger")
		case rel.Order == "larger":
			adj = r.pick("largest", "biggest")
		case two:
			adj = "smaller"
		default:
			adj = "smallest"
		}
		s = r.pick("the "+adj+" of "+group, "of "+group+", the "+adj+" one")
	case dataset.RelPosition:
		deg := "more"
		if !two {
			deg = "most"
		}
		switch rel.Order {
		case "anterior", "posterior":
			s = r.pick("the "+deg+" "+rel.Order+" of "+group, "of "+group+", the "+deg+" "+rel.Order+" one")
		default:
			far := "further"
			if !two {
				far = "furthest"
			}
			s = r.pick("the "+deg+" "+rel.Order+"-sided of "+group,
				"of "+group+", the one "+far+" to the patient's "+rel.Order)
		}
	case dataset.RelLandmark:
		switch rel.Landmark {
		case dataset.LandmarkGallbladderFossa:
			s = "the " + sing + " " + r.pick("nearest the gallbladder fossa", "closest to the gallbladder fossa", "nearest to the gallbladder bed")
		default:
			s = "the " + sing + " " + r.pick("closest to the inferior vena cava", "nearest the IVC")
		}
	}
	return capitalize(s) + "."
}

// exprStats counts what happened to expressions.
type exprStats struct {
	made        map[string]int
	dropped     map[string]int // no unique expression at that level
	regenerated map[string]int // candidate rejected as not unique, another drawn
}

func newExprStats() exprStats {
	return exprStats{made: map[string]int{}, dropped: map[string]int{}, regenerated: map[string]int{}}
}

func (s exprStats) add(o exprStats) {
	for k, v := range o.made {
		s.made[k] += v
	}
	for k, v := range o.dropped {
		s.dropped[k] += v
	}
	for k, v := range o.regenerated {
		s.regenerated[k] += v
	}
}

// fullKeys lists the attributes a full description states.
func fullKeys(t *dataset.Lesion) []string {
	keys := []string{dataset.KeyType, dataset.KeySegment, dataset.KeyDiameter, dataset.KeyShape,
		dataset.KeyBoundary, dataset.KeyDensity, dataset.KeyRing}
	if t.Feature != "" {
		keys = append(keys, dataset.KeyFeature)
	}
	return keys
}

// subsets returns every k-subset of keys, each also with segment swapped
// for lobe, in a fixed order.
func subsets(keys []string, k int) [][]string {
	var out [][]string
	n := len(keys)
	var rec func(start int, cur []string)
	rec = func(start int, cur []string) {
		if len(cur) == k {
			c := append([]string(nil), cur...)
			out = append(out, c)
			for i, key := range c {
				if key == dataset.KeySegment {
					l := append([]string(nil), c...)
					l[i] = dataset.KeyLobe
					out = append(out, l)
				}
			}
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, keys[i]))
		}
	}
	rec(0, nil)
	return out
}

func contains(ks []string, k string) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// expressions writes the expressions of target t among the slice's
// lesions: full, half and quarter attribute subsets and one relational
// expression where a relation singles t out. Every expression is checked
// to match t alone; candidates that do not are redrawn, and a level with
// none left is dropped.
func expressions(r *rng, t *dataset.Lesion, ls []dataset.Lesion, lm dataset.Landmarks) ([]dataset.Expression, exprStats) {
	st := newExprStats()
	var out []dataset.Expression
	keys := fullKeys(t)
	if attrsUnique(keys, t, ls) {
		out = append(out, dataset.Expression{Level: dataset.LevelFull, Text: renderAttrs(r, keys, t), Attributes: keys})
		st.made[dataset.LevelFull]++
	} else {
		st.dropped[dataset.LevelFull]++
	}
	for _, lv := range []struct {
		level string
		frac  float64
	}{{dataset.LevelHalf, 0.5}, {dataset.LevelQuarter, 0.25}} {
		k := max(1, int(math.Round(float64(len(keys))*lv.frac)))
		cands := subsets(keys, k)
		// draw without replacement; subsets naming the type, and the
		// segment rather than the lobe, are drawn more often
		w := make([]float64, len(cands))
		for i, c := range cands {
			w[i] = 1
			if contains(c, dataset.KeyType) {
				w[i] *= 2.5
			}
			if contains(c, dataset.KeyLobe) {
				w[i] *= 0.5
			}
		}
		found := false
		for range cands {
			i := r.weighted(w...)
			w[i] = 0
			if attrsUnique(cands[i], t, ls) {
				out = append(out, dataset.Expression{Level: lv.level, Text: renderAttrs(r, cands[i], t), Attributes: cands[i]})
				st.made[lv.level]++
				found = true
				break
			}
			st.regenerated[lv.level]++
		}
		if !found {
			st.dropped[lv.level]++
		}
	}
	if rel := pickRelation(r, t, ls, lm); rel != nil {
		out = append(out, dataset.Expression{Level: dataset.LevelRelational, Text: renderRelation(r, rel), Relation: rel})
		st.made[dataset.LevelRelational]++
	}
	return out, st
}

// fossaMaxDZ is how far (mm, craniocaudally) a slice may lie from the
// gallbladder fossa for "nearest the gallbladder fossa" to be offered.
const fossaMaxDZ = 40.0

// pickRelation returns a random relation that singles out t, or nil.
func pickRelation(r *rng, t *dataset.Lesion, ls []dataset.Lesion, lm dataset.Landmarks) *dataset.Relation {
	nType := 0
	allSame := true
	for _, l := range ls {
		if l.Type == t.Type {
			nType++
		} else {
			allSame = false
		}
	}
	var amongs []string
	if nType >= 2 {
		amongs = append(amongs, t.Type)
	}
	if !allSame && len(ls) >= 2 {
		amongs = append(amongs, "")
	}
	var cands []*dataset.Relation
	for _, among := range amongs {
		n := nType
		if among == "" {
			n = len(ls)
		}
		if n > 4 {
			continue // no count word; never happens with maxPerSlice = 4
		}
		for _, ko := range [][2]string{
			{dataset.RelSize, "larger"}, {dataset.RelSize, "smaller"},
			{dataset.RelPosition, "anterior"}, {dataset.RelPosition, "posterior"},
			{dataset.RelPosition, "right"}, {dataset.RelPosition, "left"},
		} {
			cands = append(cands, &dataset.Relation{Kind: ko[0], Order: ko[1], Among: among, Count: n})
		}
		for _, lmk := range []string{dataset.LandmarkGallbladderFossa, dataset.LandmarkIVC} {
			if lmk == dataset.LandmarkGallbladderFossa && math.Abs(lm.GallbladderFossa[2]-lm.IVC[2]) > fossaMaxDZ {
				continue // the fossa is far above or below this slice
			}
			cands = append(cands, &dataset.Relation{Kind: dataset.RelLandmark, Order: "nearest", Landmark: lmk, Among: among})
		}
	}
	var ok []*dataset.Relation
	for _, c := range cands {
		if id, good := relationWinner(c, ls, lm); good && id == t.ID {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return ok[r.intn(len(ok))]
}
