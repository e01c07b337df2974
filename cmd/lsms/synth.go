package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/synth"
)

func init() {
	register(&command{
		name:    "synth",
		summary: "generate the synthetic referring-expression abdominal CT set",
		usage:   "--out DIR [--cases N] [--seed S] [flags]",
		example: "lsms synth --out data/refct --cases 231 --seed 1",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			var cfg synth.Config
			fs.StringVar(&cfg.Out, "out", "", "output folder (required; must be new or empty unless --overwrite)")
			fs.IntVar(&cfg.Cases, "cases", synth.DefaultCases, "number of cases (a case is a short stack of slices)")
			fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives byte-identical output")
			fs.IntVar(&cfg.MinSlices, "min-slices", 0, "slices per case, at least (default 8)")
			fs.IntVar(&cfg.MaxSlices, "max-slices", 0, "slices per case, at most (default 12)")
			fs.Float64Var(&cfg.ValFrac, "val", 0.1, "share of cases in the val split (0: none)")
			fs.Float64Var(&cfg.TestFrac, "test", 0.1, "share of cases in the test split (0: none)")
			fs.IntVar(&cfg.Workers, "workers", 0, "goroutines (default: one per core)")
			fs.BoolVar(&cfg.Overwrite, "overwrite", false, "replace an existing, non-empty output folder")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			quiet := fs.Bool("quiet", false, "no progress bar")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %v", args)
				}
				if cfg.Out == "" {
					return usagef("--out is required")
				}
				// the library reads 0 as "default"; an explicit 0 here means no such split
				for _, f := range []*float64{&cfg.ValFrac, &cfg.TestFrac} {
					if *f == 0 {
						*f = -1
					}
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
				defer stop()
				bar := newProgress(stderr, "synth cases", *quiet)
				sum, err := synth.Generate(ctx, cfg, bar.Update)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(sum)
				}
				fmt.Fprintf(stdout, "wrote %s in %s: %d cases, %d slices (%d without a target), %d lesions, %d records\n",
					sum.Out, sum.Elapsed.Round(1e6), sum.Cases, sum.Slices, sum.Untargeted, sum.Lesions, sum.Records)
				for _, lv := range sortedKeys(sum.Expressions) {
					fmt.Fprintf(stdout, "  expressions %-10s %6d (dropped as not unique: %d)\n", lv, sum.Expressions[lv], sum.Dropped[lv])
				}
				for _, sp := range sortedKeys(sum.Splits) {
					fmt.Fprintf(stdout, "  split %-5s %+v\n", sp, sum.Splits[sp])
				}
				return nil
			}
		},
	})
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
