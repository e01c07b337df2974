// Command lsms is the LSMS Edge command line: inspect and run TFLite
// models, segment CT slices, and more. Run `lsms help` for the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (bad input, invalid model, ...)
	exitUsage   = 2 // bad flags or arguments
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	example string
	// setup declares flags; run executes with the remaining arguments.
	setup func(fs *pflag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError marks errors in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fs := newFlagSet(c, stderr)
				c.setup(fs)
				printHelp(c, fs, stdout)
				return exitOK
			}
		}
		printCommands(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lsms: unknown command %q\n\n", args[0])
		printCommands(stderr)
		return exitUsage
	}
	fs := newFlagSet(c, stderr)
	runFn := c.setup(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printHelp(c, fs, stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "lsms %s: %v\n", c.name, err)
		return exitUsage
	}
	if err := runFn(fs.Args(), stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "lsms %s: %v\n", c.name, err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "usage: lsms %s %s\n", c.name, c.usage)
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

func newFlagSet(c *command, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("lsms "+c.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	fs.SortFlags = false
	return fs
}

func printHelp(c *command, fs *pflag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "lsms %s — %s\n\nusage: lsms %s %s\n", c.name, c.summary, c.name, c.usage)
	if fu := fs.FlagUsages(); fu != "" {
		fmt.Fprintf(w, "\nflags:\n%s", fu)
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nexample:\n  %s\n", strings.ReplaceAll(c.example, "\n", "\n  "))
	}
}

func printCommands(w io.Writer) {
	fmt.Fprintln(w, "lsms — LSMS Edge: language-guided lesion segmentation on TFLite, in pure Go")
	fmt.Fprintln(w, "\nusage: lsms <command> [flags] [args]\n\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `lsms help <command>` for its flags and an example.")
}
