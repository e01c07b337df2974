package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lsms-edge/lsms/tflite"
)

// Format is the manifest format this package reads and writes.
const Format = "lsms-bundle/v1"

// ManifestName is the manifest's file name inside a bundle directory.
const ManifestName = "manifest.json"

// File roles.
const (
	RoleText     = "text"
	RoleVision   = "vision"
	RoleVocab    = "vocab"
	RoleCombined = "combined"
)

// Errors.
var (
	// ErrFormat: the manifest is missing, malformed or of another version.
	ErrFormat = errors.New("bundle: bad manifest")
	// ErrMismatch: a file's size or SHA-256 differs from the manifest.
	ErrMismatch = errors.New("bundle: file does not match manifest")
)

// Manifest describes a bundle.
type Manifest struct {
	Format string `json:"format"`
	// Name of the model (e.g. "lsms-synth-f32").
	Name string `json:"name"`
	// Precision of the graphs: "float32", "int8", "float16", "dynamic-int8".
	Precision string `json:"precision"`
	// Model is the LSMS configuration (model/lsms.Config as JSON).
	Model json.RawMessage `json:"model"`
	// InputSize S: the vision graph takes [1,S,S,1].
	InputSize  int        `json:"input_size"`
	Preprocess Preprocess `json:"preprocess"`
	Tokenizer  Tokenizer  `json:"tokenizer"`
	// Threshold on the sigmoid probability for the mask.
	Threshold float64 `json:"threshold"`
	Files     []File  `json:"files"`
	// Provenance: free-form facts (training run, source weights hash, quantization).
	Provenance map[string]string `json:"provenance,omitempty"`
}

// Preprocess says how a slice in Hounsfield units becomes the image input.
type Preprocess struct {
	// HUWindow [lo, hi]: x = clip((HU - lo) / (hi - lo), 0, 1).
	HUWindow [2]float64 `json:"hu_window"`
	// Resize names the resampling to S×S and back (informative).
	Resize string `json:"resize"`
	// ROI, when set, is the region of interest [x0, y0, x1, y1] as
	// fractions of the slice's columns and rows: the model sees only that
	// box (cropped, then resized to S×S) and predicts nothing outside it.
	// Each edge is floor(f·n + 0.5) pixels (model.ROIBox).
	ROI *[4]float64 `json:"roi,omitempty"`
}

// CheckROI reports whether roi is a valid region of interest:
// 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1 (nil is the whole slice).
func CheckROI(roi *[4]float64) error {
	if roi == nil {
		return nil
	}
	x0, y0, x1, y1 := roi[0], roi[1], roi[2], roi[3]
	if !(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1) {
		return fmt.Errorf("roi [%g, %g, %g, %g]: want 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1", x0, y0, x1, y1)
	}
	return nil
}

// Tokenizer says how an expression becomes token ids.
type Tokenizer struct {
	Vocab        string `json:"vocab"` // file name inside the bundle
	T            int    `json:"T"`
	Lowercase    bool   `json:"lowercase"`
	StripAccents bool   `json:"strip_accents"`
}

// File is one file of the bundle.
type File struct {
	Role   string `json:"role"`
	Path   string `json:"path"` // relative to the bundle directory
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Bundle is a loaded, verified bundle.
type Bundle struct {
	Dir      string
	Manifest Manifest
}

// FileError reports a problem with one file of a bundle.
type FileError struct {
	Path string
	Err  error
	Msg  string
}

func (e *FileError) Error() string { return fmt.Sprintf("bundle: %s: %s", e.Path, e.Msg) }
func (e *FileError) Unwrap() error { return e.Err }

// Load reads dir/manifest.json and verifies every file it lists.
func Load(dir string) (*Bundle, error) {
	mp := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(mp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: no %s (not a model bundle directory)", ErrFormat, dir, ManifestName)
		}
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mp, err)
	}
	for _, f := range m.Files {
		if err := verify(dir, f); err != nil {
			return nil, err
		}
	}
	return &Bundle{Dir: dir, Manifest: *m}, nil
}

// ParseManifest decodes and checks a manifest without touching files.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, this build reads %q", ErrFormat, m.Format, Format)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return &m, nil
}

func (m *Manifest) check() error {
	if m.Name == "" {
		return errors.New("no name")
	}
	if m.InputSize <= 0 || m.InputSize > 8192 {
		return fmt.Errorf("input_size %d out of range", m.InputSize)
	}
	if m.Tokenizer.T <= 2 || m.Tokenizer.T > 4096 {
		return fmt.Errorf("tokenizer.T %d out of range", m.Tokenizer.T)
	}
	if lo, hi := m.Preprocess.HUWindow[0], m.Preprocess.HUWindow[1]; !(hi > lo) {
		return fmt.Errorf("preprocess.hu_window [%g, %g]: want lo < hi", lo, hi)
	}
	if err := CheckROI(m.Preprocess.ROI); err != nil {
		return fmt.Errorf("preprocess.%v", err)
	}
	if !(m.Threshold > 0 && m.Threshold < 1) {
		return fmt.Errorf("threshold %g: want 0 < t < 1", m.Threshold)
	}
	seen := map[string]bool{}
	roles := map[string]bool{}
	for i, f := range m.Files {
		if f.Path == "" || filepath.IsAbs(f.Path) || strings.Contains(filepath.ToSlash(f.Path), "..") {
			return fmt.Errorf("files[%d]: path %q must be relative and inside the bundle", i, f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("files[%d]: %s listed twice", i, f.Path)
		}
		seen[f.Path] = true
		if roles[f.Role] {
			return fmt.Errorf("files[%d]: role %q listed twice", i, f.Role)
		}
		roles[f.Role] = true
		if len(f.SHA256) != 64 {
			return fmt.Errorf("files[%d] %s: sha256 %q is not 64 hex digits", i, f.Path, f.SHA256)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return fmt.Errorf("files[%d] %s: sha256: %v", i, f.Path, err)
		}
		if f.Bytes < 0 {
			return fmt.Errorf("files[%d] %s: bytes %d", i, f.Path, f.Bytes)
		}
	}
	for _, r := range []string{RoleText, RoleVision, RoleVocab} {
		if !roles[r] {
			return fmt.Errorf("no file with role %q", r)
		}
	}
	if m.Tokenizer.Vocab == "" {
		return errors.New("tokenizer.vocab is empty")
	}
	return nil
}

func verify(dir string, f File) error {
	p := filepath.Join(dir, f.Path)
	fh, err := os.Open(p)
	if err != nil {
		return &FileError{Path: p, Err: err, Msg: err.Error()}
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return &FileError{Path: p, Err: err, Msg: err.Error()}
	}
	if n != f.Bytes {
		return &FileError{Path: p, Err: ErrMismatch, Msg: fmt.Sprintf("%d bytes, manifest says %d", n, f.Bytes)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return &FileError{Path: p, Err: ErrMismatch, Msg: fmt.Sprintf("sha256 %s, manifest says %s", got, f.SHA256)}
	}
	return nil
}

// Path returns the absolute path of the file with a role, or "" if none.
func (b *Bundle) Path(role string) string {
	for _, f := range b.Manifest.Files {
		if f.Role == role {
			return filepath.Join(b.Dir, f.Path)
		}
	}
	return ""
}

// Size is the total size of the bundle's files in bytes (manifest excluded).
func (b *Bundle) Size() int64 {
	var n int64
	for _, f := range b.Manifest.Files {
		n += f.Bytes
	}
	return n
}

// Content is a file to write into a bundle.
type Content struct {
	Role string
	Path string
	Data []byte
}

// Write creates dir (if needed), writes every file atomically, fills in
// m.Files from them, and writes the manifest last. Files of dir not listed
// are left alone.
func Write(dir string, m Manifest, files []Content) (*Bundle, error) {
	m.Format = Format
	m.Files = nil
	for _, c := range files {
		sum := sha256.Sum256(c.Data)
		m.Files = append(m.Files, File{Role: c.Role, Path: c.Path, Bytes: int64(len(c.Data)), SHA256: hex.EncodeToString(sum[:])})
	}
	sort.SliceStable(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("bundle: write %s: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, c := range files {
		if err := tflite.WriteFileAtomic(filepath.Join(dir, c.Path), c.Data); err != nil {
			return nil, err
		}
	}
	data, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := tflite.WriteFileAtomic(filepath.Join(dir, ManifestName), append(data, '\n')); err != nil {
		return nil, err
	}
	return &Bundle{Dir: dir, Manifest: m}, nil
}
