package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/firmware/profiles"
	"github.com/lsms-edge/lsms/firmware/update"
	"github.com/lsms-edge/lsms/runtime/backend"
)

// updateSub is one `lsms update` subcommand.
type updateSub struct {
	name, summary, usage string
	setup                func(fs *pflag.FlagSet) func(args []string, stdout io.Writer) error
}

var updateSubs = []updateSub{
	{"keygen", "write an ed25519 signing key pair", "--out DIR", setupKeygen},
	{"stage", "assemble a release directory: binary, model bundle, profile, health slices", "--binary B --model DIR --profile P --health M.jsonl --version V --out DIR", setupStage},
	{"sign", "sign a release directory into a bundle", "--key K [--version V] -o BUNDLE.tar DIR", setupSign},
	{"verify", "check a bundle's signature and every file's hash", "--pub P BUNDLE.tar", setupVerify},
	{"apply", "verify, install and switch to a bundle; roll back if its health check fails", "--pub P --root DIR --min-dice F BUNDLE.tar", setupApply},
	{"recover", "roll back an update a crash interrupted", "--root DIR", setupRecover},
	{"health", "run the health check on a release directory", "--min-dice F RELEASE_DIR", setupHealth},
}

func init() {
	var usage strings.Builder
	for _, s := range updateSubs {
		fmt.Fprintf(&usage, "\n  %-8s %s", s.name, s.summary)
	}
	register(&command{
		name:    "update",
		summary: "signed update bundles: keygen, stage, sign, verify, apply (with rollback), recover, health",
		usage:   "SUBCOMMAND [flags] [args]   (`lsms update SUBCOMMAND --help` for its flags)\n\nsubcommands:" + usage.String(),
		example: "lsms update keygen --out keys/\n" +
			"lsms update stage --binary bin/cross/lsms-linux-arm64 --model models/lsms-synth-f32 --profile rpi5-cpu \\\n" +
			"    --health samples/manifest.jsonl --version $(git describe --always --dirty) --out out/release\n" +
			"lsms update sign --key keys/lsms-update.key -o out/release.tar out/release\n" +
			"lsms update apply --pub /etc/lsms/update.pub --root /opt/lsms --min-dice 0.5 release.tar",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			fs.SetInterspersed(false) // flags after the subcommand are its own
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 0 {
					return usagef("give a subcommand")
				}
				for _, s := range updateSubs {
					if s.name == args[0] {
						return runUpdateSub(s, args[1:], stdout, stderr)
					}
				}
				return usagef("unknown subcommand %q", args[0])
			}
		},
	})
}

func runUpdateSub(s updateSub, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lsms update "+s.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	runFn := s.setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "lsms update %s — %s\n\nusage: lsms update %s %s\n\nflags:\n%s", s.name, s.summary, s.name, s.usage, fs.FlagUsages())
			return nil
		}
		return usagef("%s: %v (usage: lsms update %s %s)", s.name, err, s.name, s.usage)
	}
	if err := runFn(fs.Args(), stdout); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return usagef("%s: %v (usage: lsms update %s %s)", s.name, err, s.name, s.usage)
		}
		if strings.HasPrefix(err.Error(), s.name+": ") {
			return err
		}
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

func setupKeygen(fs *pflag.FlagSet) func([]string, io.Writer) error {
	out := fs.String("out", "", "directory for lsms-update.key (private, 0600) and lsms-update.pub (required)")
	return func(args []string, stdout io.Writer) error {
		if *out == "" || len(args) > 0 {
			return usagef("give --out and no arguments")
		}
		priv, pub, err := update.WriteKeyPair(*out, rand.Reader)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (keep it off the devices)\nwrote %s (install on the devices)\n", priv, pub)
		return nil
	}
}

func setupStage(fs *pflag.FlagSet) func([]string, io.Writer) error {
	var o update.StageOptions
	var out string
	fs.StringVar(&o.Binary, "binary", "", "lsms binary built for the board (scripts/cross.sh)")
	fs.StringVar(&o.Model, "model", "", "model bundle directory")
	fs.StringVar(&o.Profile, "profile", "", "board profile: a file, or a shipped profile name ("+strings.Join(profiles.Names(), ", ")+")")
	fs.StringVar(&o.Health, "health", "", "dataset manifest.jsonl whose first records become the health check's slices")
	fs.IntVar(&o.HealthSlices, "health-slices", 1, "how many records of --health")
	fs.StringVar(&o.Version, "version", "", "release version (such as the output of git describe)")
	fs.StringVar(&out, "out", "", "release directory to create")
	return func(args []string, stdout io.Writer) error {
		if o.Binary == "" || o.Model == "" || o.Profile == "" || o.Health == "" || o.Version == "" || out == "" || len(args) > 0 {
			return usagef("give --binary, --model, --profile, --health, --version and --out, and no arguments")
		}
		if _, err := os.Stat(o.Profile); err != nil && !strings.ContainsAny(o.Profile, "/.") {
			_, data, perr := profiles.Get(o.Profile)
			if perr != nil {
				return perr
			}
			o.ProfileData = data
		}
		o.Backends = backend.Names()
		if err := update.Stage(out, o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staged %s in %s\n", o.Version, out)
		return nil
	}
}

func setupSign(fs *pflag.FlagSet) func([]string, io.Writer) error {
	key := fs.String("key", "", "private key (lsms-update.key)")
	out := fs.StringP("output", "o", "", "bundle file to write")
	version := fs.String("version", "", "release version (default: DIR/VERSION)")
	return func(args []string, stdout io.Writer) error {
		if *key == "" || *out == "" || len(args) != 1 {
			return usagef("give --key, -o and one release directory")
		}
		created, err := buildTime()
		if err != nil {
			return err
		}
		priv, err := update.ReadPrivateKey(*key)
		if err != nil {
			return err
		}
		m, err := update.SignFile(*out, args[0], priv, update.SignOptions{Version: *version, Created: created})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %s: version %s, profile %s (%s), %d files\n", *out, m.Version, m.Profile, m.Arch, len(m.Files))
		return nil
	}
}

// buildTime is SOURCE_DATE_EPOCH when set (reproducible bundles), else now.
func buildTime() (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

func setupVerify(fs *pflag.FlagSet) func([]string, io.Writer) error {
	pub := fs.String("pub", "", "public key (lsms-update.pub)")
	return func(args []string, stdout io.Writer) error {
		if *pub == "" || len(args) != 1 {
			return usagef("give --pub and one bundle")
		}
		pk, err := update.ReadPublicKey(*pub)
		if err != nil {
			return err
		}
		m, err := update.VerifyFile(args[0], pk)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: good signature; version %s, profile %s (%s), created %s, %d files match\n",
			args[0], m.Version, m.Profile, m.Arch, m.Created.Format(time.RFC3339), len(m.Files))
		return nil
	}
}

// healthCheck is the exec health check and its --min-dice text (a string
// flag: there is no default floor).
type healthCheck struct {
	update.ExecCheck
	minDice string
}

// healthFlags declares the exec health check's flags.
func healthFlags(fs *pflag.FlagSet) *healthCheck {
	c := &healthCheck{}
	fs.StringVar(&c.minDice, "min-dice", "", "the new release's mean Dice on its health slices must reach this (0-1, required)")
	fs.DurationVar(&c.Timeout, "health-timeout", 10*time.Minute, "bound on each run of the new binary in the health check")
	return c
}

func checkMinDice(c *healthCheck) error {
	v, err := strconv.ParseFloat(c.minDice, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return usagef("give --min-dice between 0 and 1 (have %q)", c.minDice)
	}
	c.MinDice = v
	return nil
}

func setupApply(fs *pflag.FlagSet) func([]string, io.Writer) error {
	pub := fs.String("pub", "", "public key (lsms-update.pub)")
	root := fs.String("root", "/opt/lsms", "install root: releases/ and the current link")
	check := healthFlags(fs)
	return func(args []string, stdout io.Writer) error {
		if *pub == "" || len(args) != 1 {
			return usagef("give --pub and one bundle")
		}
		if err := checkMinDice(check); err != nil {
			return err
		}
		pk, err := update.ReadPublicKey(*pub)
		if err != nil {
			return err
		}
		res, err := update.Apply(*root, args[0], pk, check.Check, update.ApplyOptions{})
		if res != nil && res.Recovered != nil {
			fmt.Fprintf(stdout, "rolled back the interrupted update to %s first\n", res.Recovered.Version)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is current (%s)", res.Version, filepath.Join(*root, update.CurrentLink))
		if res.Previous != "" {
			fmt.Fprintf(stdout, "; previous %s kept", res.Previous)
		}
		if len(res.Pruned) > 0 {
			fmt.Fprintf(stdout, "; removed %s", strings.Join(res.Pruned, ", "))
		}
		fmt.Fprintln(stdout, "\nrestart the service to run it: systemctl restart lsms")
		return nil
	}
}

func setupRecover(fs *pflag.FlagSet) func([]string, io.Writer) error {
	root := fs.String("root", "/opt/lsms", "install root")
	return func(args []string, stdout io.Writer) error {
		if len(args) > 0 {
			return usagef("no arguments")
		}
		r, err := update.Recover(*root)
		if err != nil {
			return err
		}
		if r == nil {
			fmt.Fprintln(stdout, "no interrupted update")
			return nil
		}
		prev := r.Previous
		if prev == "" {
			prev = "(none)"
		}
		fmt.Fprintf(stdout, "rolled back the interrupted update to %s: current is %s\n", r.Version, prev)
		return nil
	}
}

func setupHealth(fs *pflag.FlagSet) func([]string, io.Writer) error {
	check := healthFlags(fs)
	return func(args []string, stdout io.Writer) error {
		if len(args) != 1 {
			return usagef("give one release directory")
		}
		if err := checkMinDice(check); err != nil {
			return err
		}
		dir, err := filepath.Abs(args[0])
		if err != nil {
			return err
		}
		if err := check.Check(dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: healthy\n", args[0])
		return nil
	}
}
