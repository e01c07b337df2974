package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every decoding and validation error.
var ErrInvalid = errors.New("profile: invalid")

// ErrBackend: the profile's backend is not in the build and it has no CPU
// fallback.
var ErrBackend = errors.New("profile: backend not available")

// MaxSize is the largest profile file accepted.
const MaxSize = 64 << 10

// Backends a profile may name.
const (
	BackendNative = "native" // the pure-Go interpreter (runtime/interp)
	BackendTFLite = "tflite" // the TFLite runtime, which runs delegates
)

// Delegate kinds.
const (
	DelegateNone     = "none"
	DelegateXNNPACK  = "xnnpack"
	DelegateGPU      = "gpu"
	DelegateNNAPI    = "nnapi"
	DelegateExternal = "external"
)

// Trigger edges and pulls.
var (
	edges = []string{"rising", "falling", "both"}
	pulls = []string{"none", "up", "down"}
)

// Arches a profile may name (GOARCH values of the boards we build for).
var arches = []string{"arm64", "arm", "amd64"}

// Profile is one board profile.
type Profile struct {
	// Name identifies the profile: lower-case letters, digits and '-'.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Arch is the GOARCH of the board: arm64, arm (with GOARM) or amd64.
	Arch  string `json:"arch"`
	GOARM int    `json:"goarm,omitempty"`
	// Backend is the inference backend: native or tflite.
	Backend  string   `json:"backend"`
	Delegate Delegate `json:"delegate"`
	// FallbackToNative runs the native backend when Backend is not in the
	// build (or its delegate cannot be loaded).
	FallbackToNative bool `json:"fallback_to_native"`
	// Threads is the number of kernel threads.
	Threads int `json:"threads"`
	// GPIO connects the board to the scanner; nil: no lines.
	GPIO *GPIO `json:"gpio,omitempty"`
	// Thermal limits; nil: none.
	Thermal *Thermal `json:"thermal,omitempty"`
	// Model is the model bundle directory, relative to the release.
	Model string `json:"model"`
	// DICOM is where the board receives series.
	DICOM DICOM `json:"dicom"`
}

// Delegate selects a TFLite delegate.
type Delegate struct {
	// Kind: none, xnnpack, gpu, nnapi or external.
	Kind string `json:"kind"`
	// Path of the delegate library (external only), absolute.
	Path string `json:"path,omitempty"`
	// Options are passed to the delegate as key/value strings.
	Options map[string]string `json:"options,omitempty"`
}

// GPIO names the lines to the scanner (periph.io pin names, device/gpio).
type GPIO struct {
	// Trigger is the input that starts a series.
	Trigger    string `json:"trigger"`
	Edge       string `json:"edge"` // rising, falling or both
	Pull       string `json:"pull"` // none, up or down
	DebounceMS int    `json:"debounce_ms"`
	// Busy and Ready are outputs; empty: not wired.
	Busy  string `json:"busy,omitempty"`
	Ready string `json:"ready,omitempty"`
	// ActiveLow: "on" drives Busy and Ready low.
	ActiveLow bool `json:"active_low"`
}

// Thermal limits, read from a sysfs temperature file (millidegrees C).
type Thermal struct {
	Zone string `json:"zone"`
	// Above ThrottleTempC the runtime drops to ThrottleThreads threads;
	// above MaxTempC it takes no new work until below ThrottleTempC.
	ThrottleTempC   float64 `json:"throttle_temp_c"`
	ThrottleThreads int     `json:"throttle_threads"`
	MaxTempC        float64 `json:"max_temp_c"`
}

// DICOM is the DIMSE listener.
type DICOM struct {
	Listen  string `json:"listen"`   // host:port or :port
	AETitle string `json:"ae_title"` // 1-16 characters of the DICOM AE repertoire
}

// FieldError is one invalid field.
type FieldError struct {
	Field string // JSON path: "delegate.path", "gpio.busy"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Parse decodes and validates a profile.
func Parse(data []byte) (*Profile, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, larger than %d", ErrInvalid, len(data), MaxSize)
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the profile object", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Load reads and parses a profile file; errors name the file.
func Load(file string) (*Profile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// Marshal encodes p as indented JSON with a final newline.
func (p *Profile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(profile)"
		}
		return &FieldError{Field: field, Msg: fmt.Sprintf("want %s, have JSON %s", te.Type, te.Value)}
	case errors.As(err, &se):
		return fmt.Errorf("%w: JSON syntax error at byte %d: %v", ErrInvalid, se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &FieldError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Msg: "unknown field"}
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: empty profile", ErrInvalid)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: JSON syntax error: the profile ends early", ErrInvalid)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// Validate checks every field and reports every problem (errors.Join of
// *FieldError).
func (p *Profile) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !validName(p.Name) {
		bad("name", "%q: want 1-64 of a-z, 0-9 and '-', starting with a letter or digit", p.Name)
	}
	if !printable(p.Description) || len(p.Description) > 1024 {
		bad("description", "want at most 1024 printable characters")
	}
	switch {
	case !slices.Contains(arches, p.Arch):
		bad("arch", "%q: want one of %s", p.Arch, strings.Join(arches, ", "))
	case p.Arch == "arm" && p.GOARM != 6 && p.GOARM != 7:
		bad("goarm", "%d: arch arm needs goarm 6 or 7", p.GOARM)
	case p.Arch != "arm" && p.GOARM != 0:
		bad("goarm", "only for arch arm (have arch %q)", p.Arch)
	}
	switch p.Backend {
	case BackendNative, BackendTFLite:
	default:
		bad("backend", "%q: want %q or %q", p.Backend, BackendNative, BackendTFLite)
	}
	d := p.Delegate
	switch d.Kind {
	case DelegateNone:
		if len(d.Options) > 0 {
			bad("delegate.options", "delegate kind none takes no options")
		}
	case DelegateXNNPACK, DelegateGPU, DelegateNNAPI, DelegateExternal:
		if p.Backend != BackendTFLite {
			bad("delegate.kind", "%q needs backend %q (the %s backend runs no delegates)", d.Kind, BackendTFLite, p.Backend)
		}
	case "":
		bad("delegate.kind", "missing: want none, xnnpack, gpu, nnapi or external")
	default:
		bad("delegate.kind", "%q: want none, xnnpack, gpu, nnapi or external", d.Kind)
	}
	if d.Kind == DelegateExternal {
		if !path.IsAbs(d.Path) || path.Clean(d.Path) != d.Path || !strings.HasSuffix(d.Path, ".so") || !printable(d.Path) {
			bad("delegate.path", "%q: external delegate needs the absolute, clean path of its .so", d.Path)
		}
	} else if d.Path != "" {
		bad("delegate.path", "only for delegate kind external (have %q)", d.Kind)
	}
	for _, k := range sortedKeys(d.Options) {
		v := d.Options[k]
		if !optionKey(k) {
			bad("delegate.options", "key %q: want 1-64 of A-Z, a-z, 0-9, '_', '-' and '.'", k)
		}
		if !printable(v) || strings.ContainsAny(v, ";") || len(v) > 1024 {
			bad("delegate.options."+k, "value %q: want at most 1024 printable characters without ';'", v)
		}
	}
	if p.Threads < 1 || p.Threads > 1024 {
		bad("threads", "%d: want 1 to 1024", p.Threads)
	}
	if g := p.GPIO; g != nil {
		pins := map[string]string{}
		pin := func(field, name string, required bool) {
			if name == "" {
				if required {
					bad(field, "missing pin name")
				}
				return
			}
			if !pinName(name) {
				bad(field, "%q: want a pin name of A-Z, a-z, 0-9 and '_' (such as GPIO17)", name)
				return
			}
			if other, dup := pins[name]; dup {
				bad(field, "pin %s is also %s", name, other)
				return
			}
			pins[name] = field
		}
		pin("gpio.trigger", g.Trigger, true)
		pin("gpio.busy", g.Busy, false)
		pin("gpio.ready", g.Ready, false)
		if !slices.Contains(edges, g.Edge) {
			bad("gpio.edge", "%q: want one of %s", g.Edge, strings.Join(edges, ", "))
		}
		if !slices.Contains(pulls, g.Pull) {
			bad("gpio.pull", "%q: want one of %s", g.Pull, strings.Join(pulls, ", "))
		}
		if g.DebounceMS < 0 || g.DebounceMS > 60_000 {
			bad("gpio.debounce_ms", "%d: want 0 to 60000", g.DebounceMS)
		}
	}
	if t := p.Thermal; t != nil {
		if !path.IsAbs(t.Zone) || path.Clean(t.Zone) != t.Zone || !printable(t.Zone) {
			bad("thermal.zone", "%q: want the absolute path of a temperature file (/sys/class/thermal/thermal_zone0/temp)", t.Zone)
		}
		finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
		if !finite(t.ThrottleTempC) || t.ThrottleTempC <= 0 {
			bad("thermal.throttle_temp_c", "%g: want above 0", t.ThrottleTempC)
		}
		if !finite(t.MaxTempC) || t.MaxTempC <= t.ThrottleTempC || t.MaxTempC > 150 {
			bad("thermal.max_temp_c", "%g: want above throttle_temp_c (%g) and at most 150", t.MaxTempC, t.ThrottleTempC)
		}
		if t.ThrottleThreads < 1 || (p.Threads >= 1 && t.ThrottleThreads > p.Threads) {
			bad("thermal.throttle_threads", "%d: want 1 to threads (%d)", t.ThrottleThreads, p.Threads)
		}
	}
	if p.Model == "" || path.IsAbs(p.Model) || path.Clean(p.Model) != p.Model || p.Model == ".." || strings.HasPrefix(p.Model, "../") || !printable(p.Model) || strings.ContainsAny(p.Model, argUnsafe) {
		bad("model", "%q: want a clean path relative to the release directory (such as \"model\"), without spaces, quotes, '$', '`' or '\\'", p.Model)
	}
	if host, port, err := net.SplitHostPort(p.DICOM.Listen); err != nil || !validPort(port) || strings.ContainsAny(host, "/"+argUnsafe) {
		bad("dicom.listen", "%q: want host:port or :port", p.DICOM.Listen)
	}
	if !aeTitle(p.DICOM.AETitle) {
		bad("dicom.ae_title", "%q: want 1-16 characters of printable ASCII without spaces, quotes, '$', '`' or '\\'", p.DICOM.AETitle)
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if validName(p.Name) {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return err
}

// Resolve returns the backend to run given the backends in the build: the
// profile's own, or native when it is missing and FallbackToNative is set
// (fellBack true). Otherwise an ErrBackend error.
func (p *Profile) Resolve(available []string) (backend string, fellBack bool, err error) {
	if slices.Contains(available, p.Backend) {
		return p.Backend, false, nil
	}
	if p.FallbackToNative && slices.Contains(available, BackendNative) {
		return BackendNative, true, nil
	}
	return "", false, fmt.Errorf("%w: profile %q wants backend %q; this build has %s (set fallback_to_native to run on the CPU)",
		ErrBackend, p.Name, p.Backend, strings.Join(available, ", "))
}

// Args returns the flags of `lsms scp` for the profile: the model bundle
// (relative to the release directory, the service's working directory),
// backend (resolved against available), threads, listen address and AE
// title.
func (p *Profile) Args(available []string) ([]string, error) {
	be, _, err := p.Resolve(available)
	if err != nil {
		return nil, err
	}
	return []string{"--model", p.Model, "--backend", be, "--threads", strconv.Itoa(p.Threads), "--listen", p.DICOM.Listen, "--aet", p.DICOM.AETitle}, nil
}

// argUnsafe are the characters kept out of values that become `lsms scp`
// flags in lsms.env (a systemd EnvironmentFile, split on spaces).
const argUnsafe = " \t\"'$`\\"

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func optionKey(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func pinName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == 0xfffd {
			return false
		}
	}
	return true
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == s
}

func aeTitle(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c > 0x7e || strings.IndexByte("\\\"'$`", c) >= 0 {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
