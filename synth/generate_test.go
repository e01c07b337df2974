package synth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// The shared small set: generated once per test binary.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureSum  Summary
	fixtureErr  error
)

const fixtureCases = 12

func fixture(t *testing.T) (*dataset.Dataset, Summary) {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synth-fixture-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureDir = filepath.Join(dir, "set")
		fixtureSum, fixtureErr = Generate(context.Background(), Config{Out: fixtureDir, Cases: fixtureCases, Seed: 42}, nil)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	d, err := dataset.Open(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	return d, fixtureSum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(filepath.Dir(fixtureDir))
	}
	os.Exit(code)
}

// hashTree hashes every file's relative path and content.
func hashTree(t *testing.T, root string) string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		io.WriteString(h, filepath.ToSlash(rel)+"\x00")
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(h, f)
		f.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates three small sets")
	}
	dir := t.TempDir()
	gen := func(name string, seed uint64, workers int) string {
		out := filepath.Join(dir, name)
		if _, err := Generate(context.Background(), Config{Out: out, Cases: 4, Seed: seed, MinSlices: 6, MaxSlices: 8, Workers: workers}, nil); err != nil {
			t.Fatal(err)
		}
		return hashTree(t, out)
	}
	a := gen("a", 7, 1)
	b := gen("b", 7, 4)
	if a != b {
		t.Fatalf("same seed, different bytes: %s vs %s", a, b)
	}
	if c := gen("c", 8, 2); c == a {
		t.Fatal("different seeds gave identical sets")
	}
}

func TestSummaryMatchesFiles(t *testing.T) {
	d, sum := fixture(t)
	if sum.Cases != fixtureCases || d.Info.Cases != fixtureCases {
		t.Fatalf("cases: summary %d, info %d", sum.Cases, d.Info.Cases)
	}
	if len(d.Records) != sum.Records || d.Info.Records != sum.Records {
		t.Fatalf("records: manifest %d, summary %d, info %d", len(d.Records), sum.Records, d.Info.Records)
	}
	imgs := map[string]bool{}
	for _, r := range d.Records {
		imgs[r.Image] = true
		for _, p := range []string{r.Image, r.Mask} {
			if _, err := os.Stat(filepath.Join(d.Root, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(imgs)+sum.Untargeted != sum.Slices {
		t.Fatalf("%d slices with records + %d without != %d slices", len(imgs), sum.Untargeted, sum.Slices)
	}
	if sum.Slices < fixtureCases*DefaultMinSlices || sum.Slices > fixtureCases*DefaultMaxSlices {
		t.Fatalf("%d slices for %d cases", sum.Slices, fixtureCases)
	}
	t.Logf("%d cases, %d slices (%d without target), %d records, %d lesions; expressions %v; dropped %v; regenerated %v",
		sum.Cases, sum.Slices, sum.Untargeted, sum.Records, sum.Lesions, sum.Expressions, sum.Dropped, sum.Regenerated)
}

func TestRecordsWellFormed(t *testing.T) {
	d, _ := fixture(t)
	perSlice := map[string]int{}
	for _, r := range d.Records {
		if len(r.Lesions) < 1 || len(r.Lesions) > maxPerSlice {
			t.Errorf("%s: %d lesions on slice", r.Mask, len(r.Lesions))
		}
		perSlice[r.Image] = len(r.Lesions)
		g := r.Geometry
		if g.ImageOrientationPatient != [6]float64{1, 0, 0, 0, 1, 0} || g.SliceThicknessMM != DefaultSliceMM ||
			g.SliceLocationMM != g.ImagePositionPatient[2] {
			t.Errorf("%s: geometry %+v", r.Image, g)
		}
		if s := r.PixelSpacing[0]; s < 0.6 || s > 0.9 || r.PixelSpacing[1] != s {
			t.Errorf("%s: spacing %v", r.Image, r.PixelSpacing)
		}
		if r.Target.DiameterMM < minTargetMM {
			t.Errorf("%s: target of %.1f mm", r.Mask, r.Target.DiameterMM)
		}
		if dataset.LobeOf(r.Target.Segment) != r.Target.Lobe || r.Target.Lobe == "" {
			t.Errorf("%s: segment %q lobe %q", r.Mask, r.Target.Segment, r.Target.Lobe)
		}
		levels := map[string]int{}
		for _, e := range r.Expressions {
			levels[e.Level]++
		}
		for lv, n := range levels {
			if n > 1 {
				t.Errorf("%s: %d expressions at level %s", r.Mask, n, lv)
			}
		}
	}
	// consecutive slices of a case are SliceMM apart
	byCase := map[string]map[int]float64{}
	for _, r := range d.Records {
		if byCase[r.Case] == nil {
			byCase[r.Case] = map[int]float64{}
		}
		byCase[r.Case][r.SliceIndex] = r.Geometry.SliceLocationMM
	}
	for c, m := range byCase {
		for k, z := range m {
			if z2, ok := m[k+1]; ok && math.Abs(z-z2-DefaultSliceMM) > 1e-9 {
				t.Errorf("%s: slices %d and %d at %.2f and %.2f", c, k, k+1, z, z2)
			}
		}
	}
	hist := map[int]int{}
	for _, n := range perSlice {
		hist[n]++
	}
	t.Logf("slices by lesion count: %v", hist)
}

func TestSplitsByCase(t *testing.T) {
	d, sum := fixture(t)
	split := map[string]string{}
	for _, r := range d.Records {
		if s, ok := split[r.Case]; ok && s != r.Split {
			t.Fatalf("%s in %s and %s", r.Case, s, r.Split)
		}
		split[r.Case] = r.Split
	}
	listed := map[string]string{}
	for s, cs := range d.Info.SplitCases {
		for _, c := range cs {
			if prev, ok := listed[c]; ok {
				t.Fatalf("%s listed in %s and %s", c, prev, s)
			}
			listed[c] = s
		}
	}
	if len(listed) != fixtureCases {
		t.Fatalf("%d cases listed in splits, want %d", len(listed), fixtureCases)
	}
	for c, s := range split {
		if listed[c] != s {
			t.Fatalf("%s: records say %s, dataset.json says %s", c, s, listed[c])
		}
	}
	// 12 cases at 10%/10%: one each in val and test
	if sum.Splits[SplitVal].Cases != 1 || sum.Splits[SplitTest].Cases != 1 || sum.Splits[SplitTrain].Cases != 10 {
		t.Fatalf("split sizes %+v", sum.Splits)
	}
}

func TestSplitSizes(t *testing.T) {
	cfg := Config{Out: "x", Cases: 231}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, s := range assignSplits(&cfg) {
		n[s]++
	}
	if n[SplitTrain] != 185 || n[SplitVal] != 23 || n[SplitTest] != 23 {
		t.Fatalf("231 cases split %v", n)
	}
}

func TestMaskAreaMatchesDiameter(t *testing.T) {
	d, _ := fixture(t)
	for i := range d.Records {
		r := &d.Records[i]
		m, err := d.Mask(r)
		if err != nil {
			t.Fatal(err)
		}
		area := m.Area()
		if area != r.Target.AreaPx {
			t.Fatalf("%s: mask area %d, record says %d", r.Mask, area, r.Target.AreaPx)
		}
		s := r.PixelSpacing[0]
		mm2 := float64(area) * s * s
		eq := math.Sqrt(4 * mm2 / math.Pi)
		if rel := math.Abs(eq-r.Target.DiameterMM) / r.Target.DiameterMM; rel > 0.3 {
			t.Errorf("%s: stated %.1f mm, mask's equivalent diameter %.1f mm (%.0f%% off)", r.Mask, r.Target.DiameterMM, eq, rel*100)
		}
		ell := math.Pi / 4 * r.Target.DiameterMM * r.Target.ShortAxisMM
		if rel := (ell - mm2) / ell; rel > 1-minCompact {
			t.Errorf("%s: area %.0f mm², long×short axes give %.0f mm²", r.Mask, mm2, ell)
		}
		smooth := r.Target.Shape == "round" || r.Target.Shape == "oval"
		if rel := math.Abs(mm2-ell) / ell; smooth && area >= 100 && rel > 0.2 {
			t.Errorf("%s: area %.0f mm², long×short axes give %.0f mm²", r.Mask, mm2, ell)
		}
		// the mask lies in its bounding box and its centroid matches
		var sx, sy float64
		for p, v := range m.Pix {
			if v == 0 {
				continue
			}
			x, y := p%m.Width, p/m.Width
			b := r.Target.BBox
			if x < b[0] || x > b[2] || y < b[1] || y > b[3] {
				t.Fatalf("%s: pixel (%d,%d) outside bbox %v", r.Mask, x, y, b)
			}
			sx += float64(x)
			sy += float64(y)
		}
		if math.Abs(sx/float64(area)-r.Target.CentroidPx[0]) > 0.01 || math.Abs(sy/float64(area)-r.Target.CentroidPx[1]) > 0.01 {
			t.Fatalf("%s: centroid mismatch", r.Mask)
		}
	}
}

func TestManifestRoundTrip(t *testing.T) {
	d, _ := fixture(t)
	raw, err := os.ReadFile(filepath.Join(d.Root, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var again []byte
	for i := range d.Records {
		b, err := dataset.MarshalRecord(&d.Records[i])
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, b...)
	}
	if string(again) != string(raw) {
		t.Fatal("manifest does not survive read and re-encode byte for byte")
	}
	// images decode to the HU the generator rendered
	r := &d.Records[0]
	im, err := d.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	cd := makeCase(42, r.CaseIndex, DefaultMinSlices, DefaultMaxSlices, DefaultSliceMM)
	want := cd.slices[r.SliceIndex].hu
	for i := range want {
		if im.HU[i] != want[i] {
			t.Fatalf("pixel %d: PNG %d, rendered %d", i, im.HU[i], want[i])
		}
	}
}

// TestTissueHU checks the mean and spread of every tissue on rendered
// slices against textbook portal-venous ranges.
func TestTissueHU(t *testing.T) {
	ranges := map[tissue][2]float64{
		tAir:          {-1010, -985},
		tSubcutFat:    {-125, -75},
		tVisceralFat:  {-125, -65},
		tMuscle:       {30, 70},
		tLiver:        {60, 115},
		tSpleen:       {80, 130},
		tKidneyCortex: {130, 210},
		tAorta:        {140, 210},
		tBoneMarrow:   {250, 450},
		tBoneCortex:   {450, 1100},
		tGallbladder:  {-10, 25},
		tGIGas:        {-1010, -850},
		tCSF:          {-10, 40},
		tLung:         {-900, -700},
		tPortalVein:   {130, 210},
	}
	sum := map[tissue]float64{}
	sq := map[tissue]float64{}
	n := map[tissue]int{}
	cystSum, cystN := 0.0, 0
	for ci := 0; ci < 4; ci++ {
		cd := makeCase(99, ci, 8, 9, 5)
		for _, s := range cd.slices {
			// interior pixels only: all four neighbours share the label
			for i, lb := range s.label {
				r, c := i/imgSize, i%imgSize
				if r < 2 || c < 2 || r > imgSize-3 || c > imgSize-3 {
					continue
				}
				same := true
				for _, d := range []int{-2, 2, -2 * imgSize, 2 * imgSize, -1, 1, -imgSize, imgSize} {
					if s.label[i+d] != lb {
						same = false
						break
					}
				}
				if !same {
					continue
				}
				v := float64(s.hu[i])
				sum[lb] += v
				sq[lb] += v * v
				n[lb]++
			}
			for _, sec := range s.sections {
				if sec.attr.Type == dataset.TypeCyst {
					for _, p := range sec.mask {
						cystSum += float64(s.hu[p])
						cystN++
					}
				}
			}
		}
	}
	for tis, rg := range ranges {
		if n[tis] < 50 {
			continue
		}
		m := sum[tis] / float64(n[tis])
		t.Logf("%-16s mean %7.1f HU over %d pixels", tis, m, n[tis])
		if m < rg[0] || m > rg[1] {
			t.Errorf("%s: mean %.1f HU outside %v", tis, m, rg)
		}
	}
	if n[tLiver] == 0 || n[tMuscle] == 0 || n[tBoneMarrow] == 0 {
		t.Fatal("liver, muscle or bone missing")
	}
	// liver: noise plus texture, σ within a CT-like 8–30 HU
	m := sum[tLiver] / float64(n[tLiver])
	sd := math.Sqrt(sq[tLiver]/float64(n[tLiver]) - m*m)
	if sd < 8 || sd > 30 {
		t.Errorf("liver σ %.1f HU", sd)
	}
	if cystN > 0 {
		if m := cystSum / float64(cystN); m < -5 || m > 20 {
			t.Errorf("cysts: mean %.1f HU", m)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []Config{
		{},
		{Out: "x", Cases: -1},
		{Out: "x", MinSlices: 5, MaxSlices: 3},
		{Out: "x", SliceMM: 20},
		{Out: "x", ValFrac: 0.5, TestFrac: 0.5},
	} {
		if _, err := Generate(ctx, c, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, Config{Out: dir, Cases: 1}, nil); !errors.Is(err, ErrOutputExists) {
		t.Fatalf("non-empty output: err %v, want ErrOutputExists", err)
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Generate(ctx, Config{Out: filepath.Join(dir, "set"), Cases: 6, Workers: 1, MinSlices: 2, MaxSlices: 2},
		func(done, total int) {
			calls++
			cancel()
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("left behind %v", ents)
	}
	if calls > 1 {
		t.Fatalf("progress called %d times after cancel", calls)
	}
}

func TestProgressAndOverwrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "set")
	var seen []int
	cfg := Config{Out: out, Cases: 2, MinSlices: 2, MaxSlices: 2}
	if _, err := Generate(context.Background(), cfg, func(done, total int) {
		if total != 2 {
			t.Errorf("total %d", total)
		}
		seen = append(seen, done)
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Fatalf("progress %v", seen)
	}
	first := hashTree(t, out)
	cfg.Overwrite = true
	if _, err := Generate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if hashTree(t, out) != first {
		t.Fatal("overwrite changed the bytes")
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Fatalf("temporary folders left: %v", ents)
	}
}
