package profile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// valid is a complete profile; cases below break one field of it.
const valid = `{
  "name": "test-board",
  "description": "test",
  "arch": "arm64",
  "backend": "tflite",
  "delegate": {"kind": "external", "path": "/usr/lib/libvx_delegate.so", "options": {"cache_file_path": "/var/lib/lsms/c"}},
  "fallback_to_native": true,
  "threads": 4,
  "gpio": {"trigger": "GPIO17", "edge": "rising", "pull": "down", "debounce_ms": 50, "busy": "GPIO27", "ready": "GPIO22", "active_low": false},
  "thermal": {"zone": "/sys/class/thermal/thermal_zone0/temp", "throttle_temp_c": 75, "throttle_threads": 2, "max_temp_c": 85},
  "model": "model",
  "dicom": {"listen": ":11112", "ae_title": "LSMS"}
}`

// edit decodes valid, applies f to the generic map, and re-encodes.
func edit(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(valid), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sub(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }

func TestParseValid(t *testing.T) {
	p, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "test-board" || p.Threads != 4 || p.Delegate.Options["cache_file_path"] != "/var/lib/lsms/c" ||
		p.GPIO.Busy != "GPIO27" || p.Thermal.MaxTempC != 85 || p.DICOM.AETitle != "LSMS" {
		t.Fatalf("decoded %+v", p)
	}
	// Marshal round-trips.
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	if q.Delegate.Path != p.Delegate.Path || *q.GPIO != *p.GPIO || *q.Thermal != *p.Thermal {
		t.Fatalf("round trip: %+v vs %+v", q, p)
	}
	// gpio and thermal are optional.
	if _, err := Parse(edit(t, func(m map[string]any) { delete(m, "gpio"); delete(m, "thermal") })); err != nil {
		t.Fatal(err)
	}
}

func TestParseInvalid(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		field string // named in the error
	}{
		{"empty", []byte(""), "empty profile"},
		{"syntax", []byte(`{"name": `), "JSON syntax error"},
		{"trailing", []byte(valid + `{}`), "data after the profile"},
		{"unknown field", edit(t, func(m map[string]any) { m["threds"] = 2 }), "threds: unknown field"},
		{"unknown nested", edit(t, func(m map[string]any) { sub(m, "gpio")["trig"] = "x" }), "trig: unknown field"},
		{"wrong type", edit(t, func(m map[string]any) { m["threads"] = "four" }), "threads: want int"},
		{"wrong nested type", edit(t, func(m map[string]any) { sub(m, "thermal")["max_temp_c"] = "hot" }), "thermal.max_temp_c: want float64"},
		{"name", edit(t, func(m map[string]any) { m["name"] = "Bad Name" }), "name:"},
		{"arch", edit(t, func(m map[string]any) { m["arch"] = "riscv64" }), "arch:"},
		{"goarm missing", edit(t, func(m map[string]any) { m["arch"] = "arm" }), "goarm:"},
		{"goarm on arm64", edit(t, func(m map[string]any) { m["goarm"] = 7 }), "goarm: only for arch arm"},
		{"backend", edit(t, func(m map[string]any) { m["backend"] = "onnx" }), "backend:"},
		{"delegate kind", edit(t, func(m map[string]any) { sub(m, "delegate")["kind"] = "tpu" }), "delegate.kind:"},
		{"delegate kind missing", edit(t, func(m map[string]any) { delete(sub(m, "delegate"), "kind") }), "delegate.kind: missing"},
		{"delegate needs tflite", edit(t, func(m map[string]any) { m["backend"] = "native" }), `delegate.kind: "external" needs backend "tflite"`},
		{"external without path", edit(t, func(m map[string]any) { delete(sub(m, "delegate"), "path") }), "delegate.path:"},
		{"external relative path", edit(t, func(m map[string]any) { sub(m, "delegate")["path"] = "lib/x.so" }), "delegate.path:"},
		{"path on gpu", edit(t, func(m map[string]any) { sub(m, "delegate")["kind"] = "gpu" }), "delegate.path: only for delegate kind external"},
		{"options on none", edit(t, func(m map[string]any) {
			m["backend"] = "native"
			d := sub(m, "delegate")
			d["kind"] = "none"
			delete(d, "path")
		}), "delegate.options: delegate kind none takes no options"},
		{"option key", edit(t, func(m map[string]any) { sub(m, "delegate")["options"] = map[string]any{"a b": "1"} }), "delegate.options: key"},
		{"option value", edit(t, func(m map[string]any) { sub(m, "delegate")["options"] = map[string]any{"a": "1;b:2"} }), "delegate.options.a:"},
		{"threads", edit(t, func(m map[string]any) { m["threads"] = 0 }), "threads: 0"},
		{"trigger missing", edit(t, func(m map[string]any) { delete(sub(m, "gpio"), "trigger") }), "gpio.trigger: missing"},
		{"pin name", edit(t, func(m map[string]any) { sub(m, "gpio")["busy"] = "GPIO 1" }), "gpio.busy:"},
		{"pin twice", edit(t, func(m map[string]any) { sub(m, "gpio")["ready"] = "GPIO17" }), "gpio.ready: pin GPIO17 is also gpio.trigger"},
		{"edge", edit(t, func(m map[string]any) { sub(m, "gpio")["edge"] = "up" }), "gpio.edge:"},
		{"pull", edit(t, func(m map[string]any) { sub(m, "gpio")["pull"] = "" }), "gpio.pull:"},
		{"debounce", edit(t, func(m map[string]any) { sub(m, "gpio")["debounce_ms"] = -1 }), "gpio.debounce_ms:"},
		{"zone", edit(t, func(m map[string]any) { sub(m, "thermal")["zone"] = "thermal_zone0" }), "thermal.zone:"},
		{"max below throttle", edit(t, func(m map[string]any) { sub(m, "thermal")["max_temp_c"] = 70 }), "thermal.max_temp_c:"},
		{"throttle threads", edit(t, func(m map[string]any) { sub(m, "thermal")["throttle_threads"] = 8 }), "thermal.throttle_threads: 8"},
		{"model absolute", edit(t, func(m map[string]any) { m["model"] = "/opt/model" }), "model:"},
		{"model with a space", edit(t, func(m map[string]any) { m["model"] = "my model" }), "model:"},
		{"model escapes", edit(t, func(m map[string]any) { m["model"] = "../model" }), "model:"},
		{"listen", edit(t, func(m map[string]any) { sub(m, "dicom")["listen"] = "11112" }), "dicom.listen:"},
		{"listen port", edit(t, func(m map[string]any) { sub(m, "dicom")["listen"] = ":70000" }), "dicom.listen:"},
		{"ae title long", edit(t, func(m map[string]any) { sub(m, "dicom")["ae_title"] = "ABCDEFGHIJKLMNOPQ" }), "dicom.ae_title:"},
		{"ae title space", edit(t, func(m map[string]any) { sub(m, "dicom")["ae_title"] = "LS MS" }), "dicom.ae_title:"},
		{"ae title quote", edit(t, func(m map[string]any) { sub(m, "dicom")["ae_title"] = `LS"MS` }), "dicom.ae_title:"},
		{"too large", []byte(strings.Repeat(" ", MaxSize+1)), "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse(c.data)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %q", err, c.field)
			}
		})
	}
}

// Every problem is reported, each as a FieldError.
func TestValidateAll(t *testing.T) {
	p := &Profile{Name: "x", Arch: "arm64", Backend: "native", Delegate: Delegate{Kind: "none"}, Threads: 0, Model: "", DICOM: DICOM{Listen: "bad", AETitle: ""}}
	err := p.Validate()
	var fields []string
	for _, e := range errors.Unwrap(err).(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("not a FieldError: %v", e)
		}
		fields = append(fields, fe.Field)
	}
	if want := []string{"threads", "model", "dicom.listen", "dicom.ae_title"}; !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v (%v)", fields, want, err)
	}
	if !strings.HasPrefix(err.Error(), `profile "x": `) {
		t.Errorf("error does not name the profile: %v", err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "board.json")
	if err := os.WriteFile(f, []byte(`{"name": "b", "threads": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(f)
	if err == nil || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "threads") {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing): %v", err)
	}
}

func TestArgs(t *testing.T) {
	p, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.Args([]string{"native"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--model", "model", "--backend", "native", "--threads", "4", "--listen", ":11112", "--aet", "LSMS"}; !slices.Equal(args, want) {
		t.Fatalf("Args = %v, want %v", args, want)
	}
	p.FallbackToNative = false
	if _, err := p.Args([]string{"native"}); !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "fallback_to_native") {
		t.Fatalf("Args without tflite or fallback: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"gpio": null, "thermal": {"max_temp_c": 1e400}}`))
	matches, _ := filepath.Glob("../profiles/*.json")
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// An accepted profile validates and survives a round trip.
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted but invalid: %v", err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("round trip: %v\n%s", err, b)
		}
	})
}
