package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/runtime/kernels"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func init() {
	register(&command{
		name:    "version",
		summary: "print the version, Go runtime, backends and supported operators",
		usage:   "[--json]",
		example: "lsms version --json",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			asJSON := fs.Bool("json", false, "machine-readable output")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %v", args)
				}
				info := map[string]any{
					"version":  version,
					"go":       runtime.Version(),
					"os":       runtime.GOOS,
					"arch":     runtime.GOARCH,
					"backends": backend.Names(),
					"ops":      kernels.Supported(),
				}
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							info["revision"] = s.Value
						}
					}
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(info)
				}
				fmt.Fprintf(stdout, "lsms %s (%s %s/%s)\nbackends: %v\noperators: %d\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, info["backends"], len(kernels.Supported()))
				return nil
			}
		},
	})
}
