package update

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/firmware/profile"
)

// SignOptions are the manifest fields Sign does not read from the
// directory.
type SignOptions struct {
	// Version of the release; empty: the first line of DIR/VERSION.
	Version string
	// Created is stored in the manifest and as every tar entry's time,
	// so one directory signed twice with the same Created gives the same
	// bytes. Required.
	Created time.Time
}

// Sign writes the release directory dir as a bundle to w, signed with
// key, and returns its manifest. dir must hold the binary (lsms, exec),
// profile.json (a valid profile) and the profile's model bundle
// (MODEL/manifest.json); every regular file under dir goes in, and
// anything else (a symlink, a device) is refused.
func Sign(w io.Writer, dir string, key ed25519.PrivateKey, opts SignOptions) (*Manifest, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key has %d bytes, want %d", ErrKey, len(key), ed25519.PrivateKeySize)
	}
	if opts.Created.IsZero() {
		return nil, fmt.Errorf("update: SignOptions.Created is required")
	}
	created := opts.Created.UTC().Truncate(time.Second)
	prof, err := profile.Load(filepath.Join(dir, ProfileName))
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	version := opts.Version
	if b, err := os.ReadFile(filepath.Join(dir, VersionName)); err == nil {
		v := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
		if version == "" {
			version = v
		} else if v != version {
			return nil, fmt.Errorf("%w: version %q, but %s says %q", ErrManifest, version, VersionName, v)
		}
	}
	if version == "" {
		return nil, fmt.Errorf("%w: no version (give one, or write %s)", ErrManifest, filepath.Join(dir, VersionName))
	}
	m := &Manifest{Format: Format, Version: version, Profile: prof.Name, Arch: prof.Arch, Created: created}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%w: %s is a %s; bundles hold regular files only", ErrLayout, p, d.Type())
		}
		if rel == ManifestName || rel == SigName {
			return fmt.Errorf("%w: %s: the name %s is reserved for the bundle's own manifest", ErrLayout, p, rel)
		}
		if err := checkPath(rel); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum, n, err := hashFile(p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: rel, SHA256: sum, Size: n, Exec: info.Mode()&0o111 != 0})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if mf := path.Join(prof.Model, "manifest.json"); m.file(mf) == nil {
		return nil, fmt.Errorf("%w: %s has no %s (the profile's model bundle)", ErrLayout, dir, mf)
	}
	if f := m.file(BinaryName); f != nil && !f.Exec {
		return nil, fmt.Errorf("%w: %s is not executable", ErrLayout, filepath.Join(dir, BinaryName))
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	mb = append(mb, '\n')
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb)) + "\n"

	tw := tar.NewWriter(w)
	hdr := func(name string, size int64, mode int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: mode, ModTime: created, Format: tar.FormatPAX}
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{ManifestName, mb}, {SigName, []byte(sig)}} {
		if err := tw.WriteHeader(hdr(e.name, int64(len(e.data)), 0o644)); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	for _, f := range m.Files {
		mode := int64(0o644)
		if f.Exec {
			mode = 0o755
		}
		if err := tw.WriteHeader(hdr(f.Path, f.Size, mode)); err != nil {
			return nil, err
		}
		if err := copyChecked(tw, filepath.Join(dir, filepath.FromSlash(f.Path)), f); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

// SignFile writes the bundle of dir to out atomically (temp file, fsync,
// rename).
func SignFile(out, dir string, key ed25519.PrivateKey, opts SignOptions) (*Manifest, error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	m, err := Sign(f, dir, key, opts)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return m, syncDir(filepath.Dir(out))
}

func hashFile(p string) (sum string, n int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err = io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// copyChecked copies file p, which must still match f, to w.
func copyChecked(w io.Writer, p string, f File) error {
	r, err := os.Open(p)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(r, f.Size))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	var one [1]byte
	if extra, _ := r.Read(one[:]); n != f.Size || extra > 0 || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%w: %s changed while it was being signed", ErrHash, p)
	}
	return nil
}
