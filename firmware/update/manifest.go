package update

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Errors; every refusal wraps one of them.
var (
	ErrManifest  = errors.New("update: bad manifest")
	ErrSignature = errors.New("update: bad signature")
	ErrHash      = errors.New("update: file does not match the manifest")
	ErrLayout    = errors.New("update: bad bundle layout")
	ErrPath      = errors.New("update: unsafe path")
	ErrArch      = errors.New("update: bundle is for another architecture")
	ErrHealth    = errors.New("update: health check failed")
	ErrInstalled = errors.New("update: version already installed")
	ErrBusy      = errors.New("update: another update is running")
	ErrKey       = errors.New("update: bad key")
)

// Names inside a bundle.
const (
	Format       = "lsms-update/1"
	ManifestName = "manifest.json"
	SigName      = "manifest.sig"
	BinaryName   = "lsms"
	ProfileName  = "profile.json"
	VersionName  = "VERSION"
	EnvName      = "lsms.env"
	// HealthDir is the health check's sample slices, inside the model
	// directory.
	HealthDir = "health"
)

// MaxManifestSize is the largest manifest.json accepted.
const MaxManifestSize = 4 << 20

// Manifest is manifest.json.
type Manifest struct {
	Format  string    `json:"format"`
	Version string    `json:"version"`
	Profile string    `json:"profile"`
	Arch    string    `json:"arch"`
	Created time.Time `json:"created"`
	Files   []File    `json:"files"`
}

// File is one file of a release.
type File struct {
	Path   string `json:"path"` // slash-separated, relative, clean
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Exec   bool   `json:"exec,omitempty"`
}

// file returns the entry for p, or nil.
func (m *Manifest) file(p string) *File {
	for i := range m.Files {
		if m.Files[i].Path == p {
			return &m.Files[i]
		}
	}
	return nil
}

// ParseManifest decodes and checks manifest.json (without its signature).
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest object", ErrManifest)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
	}
	if m.Format != Format {
		return bad("format %q, this build reads %q", m.Format, Format)
	}
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	if m.Profile == "" || m.Arch == "" {
		return bad("profile and arch are required")
	}
	if len(m.Files) == 0 {
		return bad("no files")
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("%w (files[%d])", err, i)
		}
		if f.Path == ManifestName || f.Path == SigName {
			return bad("files[%d]: %s is reserved", i, f.Path)
		}
		if seen[f.Path] {
			return bad("files[%d]: %s listed twice", i, f.Path)
		}
		seen[f.Path] = true
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 || strings.ToLower(f.SHA256) != f.SHA256 {
			return bad("files[%d] %s: sha256 %q is not 64 lower-case hex digits", i, f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return bad("files[%d] %s: size %d", i, f.Path, f.Size)
		}
	}
	// A file may not also be a directory of another ("a" and "a/b").
	for p := range seen {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if seen[d] {
				return bad("%s is a file and the directory of %s", d, p)
			}
		}
	}
	for _, req := range []string{BinaryName, ProfileName} {
		if !seen[req] {
			return fmt.Errorf("%w: the manifest lists no %s", ErrLayout, req)
		}
	}
	if !m.file(BinaryName).Exec {
		return bad("%s is not marked exec", BinaryName)
	}
	return nil
}

// checkPath refuses paths that are empty, absolute, unclean, climb with
// "..", or hold backslashes or control characters.
func checkPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q %s", ErrPath, p, why) }
	switch {
	case p == "" || p == ".":
		return bad("is empty")
	case len(p) > 1024:
		return bad("is too long")
	case strings.HasPrefix(p, "/"):
		return bad("is absolute")
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return bad(`climbs out of the bundle with ".."`)
	case path.Clean(p) != p:
		return bad("is not a clean path")
	case strings.ContainsAny(p, "\\:"):
		return bad(`holds '\' or ':'`)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == 0xfffd {
			return bad("holds a control character")
		}
	}
	return nil
}

// checkVersion accepts 1-128 of A-Z a-z 0-9 . _ + - (such as the output
// of git describe), not starting with '.' or '-'.
func checkVersion(v string) error {
	ok := len(v) > 0 && len(v) <= 128 && v[0] != '.' && v[0] != '-'
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: version %q: want 1-128 of A-Z, a-z, 0-9, '.', '_', '+', '-', not starting with '.' or '-'", ErrManifest, v)
	}
	return nil
}
