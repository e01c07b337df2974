package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/inspect"
)

func init() {
	register(&command{
		name:    "inspect",
		summary: "show a model's inputs, outputs, ops, parameters and GPU/XNNPACK delegation",
		usage:   "MODEL.tflite [--json]",
		example: "lsms inspect model.tflite\nlsms inspect model.tflite --json",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			asJSON := fs.Bool("json", false, "machine-readable output")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) != 1 {
					return usagef("want one MODEL.tflite, got %d arguments", len(args))
				}
				return inspectModel(args[0], *asJSON, stdout)
			}
		},
	})
}

// inspectModel opens, validates and analyses the model at path. A file that
// fails validation is reported with the validation error.
func inspectModel(path string, asJSON bool, stdout io.Writer) error {
	f, err := tflite.Open(path)
	if err != nil {
		return err
	}
	r := inspect.Analyze(f.Model)
	if err := f.Close(); err != nil {
		return err
	}
	r.Path = path
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(stdout)
}
