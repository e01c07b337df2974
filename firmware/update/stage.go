package update

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lsms-edge/lsms/firmware/profile"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/synth/dataset"
)

// StageOptions name the parts of a release.
type StageOptions struct {
	// Binary is the lsms binary built for the profile's arch (an ELF of
	// that machine, or Stage refuses it).
	Binary string
	// Model is the model bundle directory (verified with bundle.Load).
	Model string
	// Profile is the board profile file; ProfileData, if not nil, its
	// bytes (a shipped profile), Profile then only names it in errors.
	Profile     string
	ProfileData []byte
	// Health is a dataset manifest.jsonl; its first HealthSlices records
	// (default 1), with their images and masks, become the health check's
	// sample slices.
	Health       string
	HealthSlices int
	// Version of the release.
	Version string
	// Backends are those of the build, to resolve the profile's backend
	// for lsms.env (profile.Args).
	Backends []string
}

// elfMachine is the ELF machine of each arch a profile may name.
var elfMachine = map[string]elf.Machine{"arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "amd64": elf.EM_X86_64}

// Stage assembles the release directory out (which must not exist) for
// Sign:
//
//	lsms                     the binary
//	profile.json             the profile
//	MODEL/...                the model bundle (MODEL: the profile's model)
//	MODEL/health/            manifest.jsonl + the images and masks it names
//	lsms.env                 LSMS_ARGS: the `lsms scp` flags of the profile
//	VERSION
//
// It is written beside out and renamed into place.
func Stage(out string, o StageOptions) error {
	if err := checkVersion(o.Version); err != nil {
		return err
	}
	if o.HealthSlices == 0 {
		o.HealthSlices = 1
	}
	if o.HealthSlices < 0 {
		return fmt.Errorf("stage: HealthSlices %d", o.HealthSlices)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("stage: %s exists; give a new directory", out)
	}
	profData := o.ProfileData
	if profData == nil {
		var err error
		if profData, err = os.ReadFile(o.Profile); err != nil {
			return fmt.Errorf("stage: %w", err)
		}
	}
	prof, err := profile.Parse(profData)
	if err != nil {
		return fmt.Errorf("stage: %s: %w", o.Profile, err)
	}
	args, err := prof.Args(o.Backends)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if err := checkELF(o.Binary, prof.Arch); err != nil {
		return err
	}
	if _, err := bundle.Load(o.Model); err != nil {
		return fmt.Errorf("stage: model: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(o.Model, HealthDir)); err == nil {
		return fmt.Errorf("stage: %s already has a %s directory", o.Model, HealthDir)
	}
	hf, err := os.Open(o.Health)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	recs, err := dataset.ReadManifest(hf)
	hf.Close()
	if err != nil {
		return fmt.Errorf("stage: %s: %w", o.Health, err)
	}
	if len(recs) < o.HealthSlices {
		return fmt.Errorf("stage: %s has %d records, want %d health slices", o.Health, len(recs), o.HealthSlices)
	}
	recs = recs[:o.HealthSlices]

	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := copyFile(filepath.Join(tmp, BinaryName), o.Binary, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(tmp, ProfileName), profData, 0o644); err != nil {
		return err
	}
	model := filepath.Join(tmp, filepath.FromSlash(prof.Model))
	if err := copyTree(model, o.Model); err != nil {
		return err
	}
	health := filepath.Join(model, HealthDir)
	src := filepath.Dir(o.Health)
	for _, r := range recs {
		for _, rel := range []string{r.Image, r.Mask} {
			if err := checkPath(filepath.ToSlash(rel)); err != nil {
				return fmt.Errorf("stage: %s: %w", o.Health, err)
			}
			if err := copyFile(filepath.Join(health, rel), filepath.Join(src, rel), 0o644); err != nil {
				return err
			}
		}
	}
	var mb bytes.Buffer
	if err := dataset.WriteManifest(&mb, recs); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(health, "manifest.jsonl"), mb.Bytes(), 0o644); err != nil {
		return err
	}
	env := fmt.Sprintf("# The flags of `lsms scp` for profile %s (backend %s asked), written by `lsms update stage`.\n"+
		"# The systemd unit passes them as $LSMS_ARGS.\nLSMS_ARGS=\"%s\"\n", prof.Name, prof.Backend, strings.Join(args, " "))
	if err := writeFileAtomic(filepath.Join(tmp, EnvName), []byte(env), 0o644); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(tmp, VersionName), []byte(o.Version+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	return syncDir(filepath.Dir(out))
}

// checkELF refuses a binary that is not an ELF executable for arch.
func checkELF(bin, arch string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("stage: binary %s: not an ELF file (%v)", bin, err)
	}
	defer f.Close()
	if want := elfMachine[arch]; f.Machine != want || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%w: binary %s is a %s %s, the profile's arch %s needs %s", ErrArch, bin, f.Machine, f.Type, arch, want)
	}
	return nil
}

// copyFile copies regular file src to dst (creating its directory).
func copyFile(dst, src string, mode os.FileMode) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("stage: %s is not a regular file", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if err == nil {
		err = w.Chmod(mode)
	}
	if err == nil {
		err = w.Sync()
	}
	return errors.Join(err, w.Close())
}

// copyTree copies the regular files under src to dst; anything else is
// refused.
func copyTree(dst, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("stage: %s is a %s; a release holds regular files only", p, d.Type())
		}
		return copyFile(filepath.Join(dst, rel), p, 0o644)
	})
}
