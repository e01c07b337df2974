package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// Errors of Generate.
var (
	ErrConfig       = errors.New("synth: invalid config")
	ErrOutputExists = errors.New("synth: output folder exists and is not empty")
)

// Defaults, sized like RefHL-Seg (231 cases, about 2,300 slices).
const (
	DefaultCases     = 231
	DefaultMinSlices = 8
	DefaultMaxSlices = 12
	DefaultSliceMM   = 5.0
)

// Split names.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
)

// Config says what to generate. Zero fields take the defaults.
type Config struct {
	Out       string // output folder; must not exist or be empty, unless Overwrite
	Cases     int    // number of cases (default 231)
	Seed      uint64 // same seed, same bytes
	MinSlices int    // slices per case, at least (default 8)
	MaxSlices int    // slices per case, at most (default 12)
	SliceMM   float64
	// ValFrac and TestFrac are the shares of cases in val and test
	// (default 0.1 each; the rest is train). Set both negative for no
	// val/test split.
	ValFrac, TestFrac float64
	Workers           int  // goroutines (default GOMAXPROCS)
	Overwrite         bool // replace an existing, non-empty Out
}

// Summary reports what Generate wrote.
type Summary struct {
	Out         string
	Cases       int
	Slices      int
	Records     int
	Lesions     int
	Untargeted  int                           // slices with no target (image kept, no record)
	Expressions map[string]int                // per level
	Dropped     map[string]int                // per level: no unique expression
	Regenerated map[string]int                // per level: candidates redrawn as not unique
	Splits      map[string]dataset.SplitCount // per split
	Elapsed     time.Duration
}

func (c *Config) defaults() error {
	if c.Cases == 0 {
		c.Cases = DefaultCases
	}
	if c.MinSlices == 0 {
		c.MinSlices = DefaultMinSlices
	}
	if c.MaxSlices == 0 {
		c.MaxSlices = max(DefaultMaxSlices, c.MinSlices)
	}
	if c.SliceMM == 0 {
		c.SliceMM = DefaultSliceMM
	}
	if c.ValFrac == 0 {
		c.ValFrac = 0.1
	}
	if c.TestFrac == 0 {
		c.TestFrac = 0.1
	}
	c.ValFrac, c.TestFrac = max(0, c.ValFrac), max(0, c.TestFrac)
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.Out == "":
		return fmt.Errorf("%w: no output folder", ErrConfig)
	case c.Cases < 0 || c.Cases > 100000:
		return fmt.Errorf("%w: cases %d outside 1..100000", ErrConfig, c.Cases)
	case c.MinSlices < 1 || c.MaxSlices < c.MinSlices || c.MaxSlices > 40:
		return fmt.Errorf("%w: slices per case %d..%d (want 1 ≤ min ≤ max ≤ 40)", ErrConfig, c.MinSlices, c.MaxSlices)
	case c.SliceMM < 1 || c.SliceMM > 10:
		return fmt.Errorf("%w: slice spacing %g mm outside 1..10", ErrConfig, c.SliceMM)
	case c.ValFrac+c.TestFrac >= 1:
		return fmt.Errorf("%w: val %g + test %g leave no training cases", ErrConfig, c.ValFrac, c.TestFrac)
	}
	return nil
}

// assignSplits gives each case a split: a seeded shuffle of the case
// indices, the first share to test, the next to val, the rest to train.
func assignSplits(cfg *Config) []string {
	n := cfg.Cases
	nTest := int(float64(n)*cfg.TestFrac + 0.5)
	nVal := int(float64(n)*cfg.ValFrac + 0.5)
	if nTest+nVal >= n {
		nTest, nVal = 0, 0
	}
	out := make([]string, n)
	for rank, i := range newRNG(cfg.Seed, 0xfeed).perm(n) {
		switch {
		case rank < nTest:
			out[i] = SplitTest
		case rank < nTest+nVal:
			out[i] = SplitVal
		default:
			out[i] = SplitTrain
		}
	}
	return out
}

// caseResult is what a worker hands back for one case.
type caseResult struct {
	index   int
	records []dataset.Record
	slices  int
	untgt   int
	lesions int
	stats   exprStats
	err     error
}

// Generate writes a synthetic dataset to cfg.Out and reports what it
// wrote. Cases are made in parallel, each from its own random stream
// seeded by (Seed, case index), so the output is byte-identical for the
// same Config whatever the scheduling. The set is built in a temporary
// sibling folder and renamed into place at the end; progress, if not
// nil, is called after each case with the number done.
func Generate(ctx context.Context, cfg Config, progress func(done, total int)) (Summary, error) {
	start := time.Now()
	if err := cfg.defaults(); err != nil {
		return Summary{}, err
	}
	out := filepath.Clean(cfg.Out)
	if err := checkOut(out, cfg.Overwrite); err != nil {
		return Summary{}, err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Summary{}, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".partial-")
	if err != nil {
		return Summary{}, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Summary{}, err
	}
	splits := assignSplits(&cfg)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	results := make(chan caseResult)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res := runCase(ctx, &cfg, tmp, i, splits[i])
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := 0; i < cfg.Cases; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	all := make([]caseResult, cfg.Cases)
	done := 0
	var firstErr error
	for res := range results {
		if res.err != nil && firstErr == nil {
			firstErr = res.err
			cancel()
		}
		all[res.index] = res
		done++
		if progress != nil && firstErr == nil && ctx.Err() == nil {
			progress(done, cfg.Cases)
		}
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return Summary{}, firstErr
	}

	sum := Summary{
		Out: out, Cases: cfg.Cases,
		Expressions: map[string]int{}, Dropped: map[string]int{}, Regenerated: map[string]int{},
		Splits: map[string]dataset.SplitCount{},
	}
	st := exprStats{made: sum.Expressions, dropped: sum.Dropped, regenerated: sum.Regenerated}
	splitCases := map[string][]string{}
	var manifest bytes.Buffer
	for i, res := range all {
		sum.Slices += res.slices
		sum.Untargeted += res.untgt
		sum.Records += len(res.records)
		sum.Lesions += res.lesions
		st.add(res.stats)
		sc := sum.Splits[splits[i]]
		sc.Cases++
		sc.Slices += res.slices
		sc.Records += len(res.records)
		sum.Splits[splits[i]] = sc
		splitCases[splits[i]] = append(splitCases[splits[i]], caseName(i))
		for j := range res.records {
			b, err := dataset.MarshalRecord(&res.records[j])
			if err != nil {
				return Summary{}, err
			}
			manifest.Write(b)
		}
	}
	for _, lv := range dataset.Levels {
		for _, m := range []map[string]int{sum.Expressions, sum.Dropped, sum.Regenerated} {
			m[lv] += 0 // list every level, zero or not
		}
	}
	info := dataset.Info{
		Format:      dataset.Format,
		Generator:   "github.com/lsms-edge/lsms/synth",
		Seed:        cfg.Seed,
		PixelFormat: "16-bit grey PNG, 512×512, value = HU + hu_offset (HU clipped to -1024..3071)",
		HUOffset:    dataset.HUOffset,
		MaskFormat:  "8-bit grey PNG, 0 background, 255 target lesion",
		Cases:       sum.Cases, Slices: sum.Slices, Records: sum.Records, Lesions: sum.Lesions,
		Expressions: sum.Expressions, Dropped: sum.Dropped, Splits: sum.Splits, SplitCases: splitCases,
	}
	infoJSON, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return Summary{}, err
	}
	if err := writeFile(filepath.Join(tmp, "manifest.jsonl"), manifest.Bytes()); err != nil {
		return Summary{}, err
	}
	if err := writeFile(filepath.Join(tmp, "dataset.json"), append(infoJSON, '\n')); err != nil {
		return Summary{}, err
	}
	if err := syncTree(tmp); err != nil {
		return Summary{}, err
	}
	if err := replaceDir(tmp, out); err != nil {
		return Summary{}, err
	}
	ok = true
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// checkOut refuses a non-empty output folder unless overwrite is set.
func checkOut(out string, overwrite bool) error {
	st, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("synth: %s exists and is not a folder", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(ents) > 0 && !overwrite {
		return fmt.Errorf("%w: %s", ErrOutputExists, out)
	}
	return nil
}

// replaceDir renames tmp to out, moving an existing out aside first and
// removing it afterwards.
func replaceDir(tmp, out string) error {
	old := ""
	if _, err := os.Stat(out); err == nil {
		old = tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		if old != "" {
			os.Rename(old, out)
		}
		return err
	}
	syncDir(filepath.Dir(out))
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// runCase makes case i, writes its images and masks under root and
// returns its records.
func runCase(ctx context.Context, cfg *Config, root string, i int, split string) caseResult {
	res := caseResult{index: i, stats: newExprStats()}
	if ctx.Err() != nil {
		res.err = ctx.Err()
		return res
	}
	cd := makeCase(cfg.Seed, i, cfg.MinSlices, cfg.MaxSlices, cfg.SliceMM)
	res.lesions = len(cd.lesions)
	res.slices = len(cd.slices)
	imgDir := path.Join("images", cd.name)
	maskDir := path.Join("masks", cd.name)
	for _, d := range []string{imgDir, maskDir} {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			res.err = err
			return res
		}
	}
	var buf bytes.Buffer
	a := cd.a
	for k := range cd.slices {
		s := &cd.slices[k]
		if ctx.Err() != nil {
			res.err = ctx.Err()
			return res
		}
		imgRel := path.Join(imgDir, fmt.Sprintf("s%02d.png", k))
		buf.Reset()
		if err := dataset.EncodeHU(&buf, s.hu, imgSize, imgSize, dataset.HUOffset); err != nil {
			res.err = err
			return res
		}
		if err := writeFile(filepath.Join(root, filepath.FromSlash(imgRel)), buf.Bytes()); err != nil {
			res.err = err
			return res
		}
		lesions := make([]dataset.Lesion, len(s.sections))
		for j := range s.sections {
			lesions[j] = s.sections[j].attr
		}
		sort.Slice(lesions, func(x, y int) bool { return lesions[x].ID < lesions[y].ID })
		lm := a.landmarks(k)
		er := newRNG(cfg.Seed, uint64(i), rngExprBase+uint64(k))
		targets := 0
		for j := range s.sections {
			sec := &s.sections[j]
			if !isTarget(sec) {
				continue
			}
			exprs, st := expressions(er, &sec.attr, lesions, lm)
			res.stats.add(st)
			if len(exprs) == 0 {
				continue
			}
			targets++
			maskRel := path.Join(maskDir, fmt.Sprintf("s%02d_l%d.png", k, sec.attr.ID))
			pix := make([]uint8, nPix)
			for _, p := range sec.mask {
				pix[p] = 1
			}
			buf.Reset()
			if err := dataset.EncodeMask(&buf, pix, imgSize, imgSize); err != nil {
				res.err = err
				return res
			}
			if err := writeFile(filepath.Join(root, filepath.FromSlash(maskRel)), buf.Bytes()); err != nil {
				res.err = err
				return res
			}
			res.records = append(res.records, dataset.Record{
				Case: cd.name, CaseIndex: i, Split: split,
				SliceIndex: k, SliceCount: len(cd.slices),
				Image: imgRel, Mask: maskRel,
				Rows: imgSize, Columns: imgSize,
				PixelSpacing: [2]float64{a.spacing, a.spacing},
				HUOffset:     dataset.HUOffset,
				Geometry:     a.geometry(k),
				Landmarks:    lm,
				TargetID:     sec.attr.ID,
				Target:       sec.attr,
				Lesions:      lesions,
				Expressions:  exprs,
			})
		}
		if targets == 0 {
			res.untgt++
		}
	}
	return res
}
