package update

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/lsms-edge/lsms/firmware/profile"
)

// Verify reads a bundle from r and checks it against pub: the signature
// of manifest.json, then every file's size and SHA-256, that every listed
// file is present once and nothing else is, that no path is unsafe, and
// that profile.json is a valid profile matching the manifest. It returns
// the manifest, or an error naming what is wrong.
func Verify(r io.Reader, pub ed25519.PublicKey) (*Manifest, error) {
	return walkWith(r, pub, nil, nil)
}

// VerifyFile is Verify on a bundle file; errors name the file.
func VerifyFile(bundle string, pub ed25519.PublicKey) (*Manifest, error) {
	f, err := os.Open(bundle)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Verify(f, pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bundle, err)
	}
	return m, nil
}

// sink receives each verified file's bytes: create returns the writer for
// file f and a function to call once all its bytes are written and
// hashed correctly. nil: discard.
type sink func(f File) (w io.Writer, done func() error, err error)

// walkWith verifies the bundle in r, calling onManifest (if not nil) once
// the manifest's signature is checked, before any file is read, and
// create (if not nil) for each file.
func walkWith(r io.Reader, pub ed25519.PublicKey, onManifest func(*Manifest) error, create sink) (*Manifest, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key has %d bytes, want %d", ErrKey, len(pub), ed25519.PublicKeySize)
	}
	tr := tar.NewReader(r)
	next := func() (*tar.Header, error) {
		h, err := tr.Next()
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%w: not a valid tar file: %v", ErrLayout, err)
		}
		return h, err
	}
	readSmall := func(want string, limit int64) ([]byte, error) {
		h, err := next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the bundle ends before %s (is it a bundle?)", ErrLayout, want)
		}
		if err != nil {
			return nil, err
		}
		if h.Name != want || h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q where %s must be (manifest.json, then manifest.sig, come first)", ErrLayout, h.Name, want)
		}
		if h.Size > limit {
			return nil, fmt.Errorf("%w: %s has %d bytes, more than %d", ErrLayout, want, h.Size, limit)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrLayout, want, err)
		}
		return b, nil
	}
	mb, err := readSmall(ManifestName, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	sb, err := readSmall(SigName, 1024)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimRight(string(sb), "\n"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %s is not a base64 ed25519 signature", ErrSignature, SigName)
	}
	if !ed25519.Verify(pub, mb, sig) {
		return nil, fmt.Errorf("%w: %s does not verify with the public key (signed with another key, or manifest.json was changed)", ErrSignature, SigName)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, err
	}
	if onManifest != nil {
		if err := onManifest(m); err != nil {
			return nil, err
		}
	}

	seen := map[string]bool{}
	var prof []byte
	for {
		h, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := h.Name
		if h.Typeflag == tar.TypeDir {
			name = strings.TrimSuffix(name, "/")
		}
		if err := checkPath(name); err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("%w: %s is a %s; bundles hold regular files only", ErrLayout, name, typeName(h.Typeflag))
		}
		f := m.file(name)
		switch {
		case name == ManifestName || name == SigName:
			return nil, fmt.Errorf("%w: a second %s", ErrLayout, name)
		case f == nil:
			return nil, fmt.Errorf("%w: %s is in the bundle but not in the manifest", ErrLayout, name)
		case seen[name]:
			return nil, fmt.Errorf("%w: %s is in the bundle twice", ErrLayout, name)
		case h.Size != f.Size:
			return nil, fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrHash, name, h.Size, f.Size)
		}
		seen[name] = true
		w, done := io.Discard, func() error { return nil }
		if create != nil {
			if w, done, err = create(*f); err != nil {
				return nil, err
			}
		}
		var pb *bytes.Buffer
		if name == ProfileName {
			if f.Size > profile.MaxSize {
				return nil, fmt.Errorf("%w: %s has %d bytes, more than %d", ErrLayout, name, f.Size, profile.MaxSize)
			}
			pb = new(bytes.Buffer)
			w = io.MultiWriter(w, pb)
		}
		hs := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(w, hs), tr, f.Size); err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrLayout, name, err)
		}
		if got := hex.EncodeToString(hs.Sum(nil)); got != f.SHA256 {
			return nil, fmt.Errorf("%w: %s: SHA-256 %s, the manifest says %s (the file was changed after signing)", ErrHash, name, got, f.SHA256)
		}
		if err := done(); err != nil {
			return nil, err
		}
		if pb != nil {
			prof = pb.Bytes()
		}
	}
	var missing []string
	for _, f := range m.Files {
		if !seen[f.Path] {
			missing = append(missing, f.Path)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: listed in the manifest but not in the bundle: %s", ErrLayout, strings.Join(missing, ", "))
	}
	p, err := profile.Parse(prof)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLayout, ProfileName, err)
	}
	if p.Name != m.Profile || p.Arch != m.Arch {
		return nil, fmt.Errorf("%w: %s is %q for %s, the manifest says %q for %s", ErrManifest, ProfileName, p.Name, p.Arch, m.Profile, m.Arch)
	}
	if mf := path.Join(p.Model, "manifest.json"); m.file(mf) == nil {
		return nil, fmt.Errorf("%w: no %s (the profile's model bundle)", ErrLayout, mf)
	}
	return m, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}
