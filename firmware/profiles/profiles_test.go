package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsms-edge/lsms/firmware/profile"
	"github.com/lsms-edge/lsms/runtime/tflitec"
)

func TestShipped(t *testing.T) {
	want := []string{"imx8mp-npu", "rk3588-mali-gpu", "rpi5-cpu", "x86-64-dev"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range Names() {
		p, data, err := Get(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Name != name {
			t.Errorf("%s.json names itself %q", name, p.Name)
		}
		// The embedded bytes are the file on disk.
		disk, err := os.ReadFile(filepath.Join(".", name+".json"))
		if err != nil || string(disk) != string(data) {
			t.Errorf("%s: embedded profile differs from the file (%v)", name, err)
		}
		if _, err := profile.Load(name + ".json"); err != nil {
			t.Errorf("Load(%s.json): %v", name, err)
		}
	}
	if _, _, err := Get("nope"); err == nil {
		t.Error("Get(nope) succeeded")
	}
	if _, _, err := Get("../profile/doc"); err == nil {
		t.Error("Get with a path succeeded")
	}
}

// What each board runs, as the issue lists it.
func TestBoards(t *testing.T) {
	get := func(n string) *profile.Profile {
		p, _, err := Get(n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	native := []string{profile.BackendNative}
	if p := get("rpi5-cpu"); p.Arch != "arm64" || p.Backend != "native" || p.Delegate.Kind != "none" || p.GPIO == nil || p.Thermal == nil {
		t.Errorf("rpi5-cpu: %+v", p)
	}
	p := get("rk3588-mali-gpu")
	if p.Backend != "tflite" || p.Delegate.Kind != "gpu" || !p.FallbackToNative {
		t.Errorf("rk3588-mali-gpu: %+v", p)
	}
	// A build with only the native backend falls back for the GPU board...
	if be, fell, err := p.Resolve(native); err != nil || be != "native" || !fell {
		t.Errorf("rk3588 Resolve(native) = %q %v %v", be, fell, err)
	}
	// ...but not for the NPU board, which has no CPU fallback.
	p = get("imx8mp-npu")
	if p.Delegate.Kind != "external" || p.Delegate.Path != "/usr/lib/libvx_delegate.so" || len(p.Delegate.Options) == 0 {
		t.Errorf("imx8mp-npu delegate: %+v", p.Delegate)
	}
	if _, _, err := p.Resolve(native); err == nil {
		t.Error("imx8mp-npu resolved without tflite")
	}
	if be, fell, err := p.Resolve([]string{"native", "tflite"}); err != nil || be != "tflite" || fell {
		t.Errorf("imx8mp Resolve(native, tflite) = %q %v %v", be, fell, err)
	}
}

// Every shipped delegate section is one the tflite backend accepts.
func TestDelegatesParse(t *testing.T) {
	for _, name := range Names() {
		p, _, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tflitec.ParseDelegate(p.Delegate.Kind, p.Delegate.Path, p.Delegate.Options); err != nil {
			t.Errorf("%s: tflitec.ParseDelegate: %v", name, err)
		}
	}
}
