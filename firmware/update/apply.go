package update

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Layout under an install root.
const (
	ReleasesDir = "releases"
	CurrentLink = "current"
	PendingName = ".pending.json"
	LockName    = ".lock"
	// Keep is how many releases stay after a successful update: the new
	// one and the previous one.
	Keep = 2
)

const incomingPrefix = ".incoming-"

// HealthCheck checks a release that is now current; an error rolls it
// back. releaseDir is root/releases/<version>.
type HealthCheck func(releaseDir string) error

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Arch is the GOARCH the device runs; empty: runtime.GOARCH. A bundle
	// for another arch is refused (ErrArch).
	Arch string
}

// Result is a successful Apply.
type Result struct {
	Version  string   // now current
	Previous string   // kept; "" on a first install
	Pruned   []string // older releases removed
	// Recovered is an interrupted update that Apply rolled back first.
	Recovered *Recovery
}

// Recovery is an interrupted update that Recover rolled back.
type Recovery struct {
	Version  string // the interrupted release, removed
	Previous string // current again ("" when there was none)
}

// HealthError is a release that failed its health check and was rolled
// back. It matches ErrHealth and the check's own error.
type HealthError struct {
	Version     string
	Previous    string // current again; "" when there was none
	Err         error  // the health check's
	RollbackErr error  // nil when the rollback worked
}

func (e *HealthError) Error() string {
	msg := fmt.Sprintf("update: release %s failed its health check: %v; ", e.Version, e.Err)
	switch {
	case e.RollbackErr != nil:
		return msg + fmt.Sprintf("ROLLBACK FAILED: %v", e.RollbackErr)
	case e.Previous == "":
		return msg + fmt.Sprintf("no previous release: %s removed, %s/%s removed", CurrentLink, ReleasesDir, e.Version)
	}
	return msg + fmt.Sprintf("rolled back to %s, %s/%s removed", e.Previous, ReleasesDir, e.Version)
}

func (e *HealthError) Unwrap() []error { return []error{ErrHealth, e.Err} }

type pending struct {
	Version  string `json:"version"`
	Previous string `json:"previous"`
}

// Apply installs the bundle file under root (see the package doc):
// verify while unpacking into root/releases/<version>, switch
// root/current to it, run check, and roll back if it fails. A refused
// bundle leaves root as it was; the error names the bundle and what is
// wrong with it.
func Apply(root, bundle string, pub ed25519.PublicKey, check HealthCheck, opts ApplyOptions) (*Result, error) {
	if check == nil {
		return nil, errors.New("update: Apply needs a health check")
	}
	arch := opts.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	rels := filepath.Join(root, ReleasesDir)
	if err := os.MkdirAll(rels, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &Result{}
	if res.Recovered, err = recoverLocked(root); err != nil {
		return nil, err
	}
	if err := cleanIncoming(rels); err != nil {
		return nil, err
	}
	prev, err := currentVersion(root)
	if err != nil {
		return nil, err
	}

	f, err := os.Open(bundle)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(rels, incomingPrefix)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	var open *os.File
	create := func(fi File) (io.Writer, func() error, error) {
		p := filepath.Join(tmp, filepath.FromSlash(fi.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil, err
		}
		mode := os.FileMode(0o644)
		if fi.Exec {
			mode = 0o755
		}
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return nil, nil, err
		}
		open = w
		return w, func() error {
			open = nil
			err := w.Chmod(mode) // whatever the umask
			if err == nil {
				err = w.Sync()
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			return err
		}, nil
	}
	onManifest := func(m *Manifest) error {
		if m.Arch != arch {
			return fmt.Errorf("%w: the bundle is for %s, this device runs %s", ErrArch, m.Arch, arch)
		}
		if m.Version == prev {
			return fmt.Errorf("%w: %s is already the current release", ErrInstalled, m.Version)
		}
		if _, err := os.Lstat(filepath.Join(rels, m.Version)); err == nil {
			return fmt.Errorf("%w: %s exists (the previous release); remove it to reinstall that version", ErrInstalled, filepath.Join(rels, m.Version))
		}
		return nil
	}
	m, err := walkWith(f, pub, onManifest, create)
	if open != nil {
		open.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("refused %s: %w", bundle, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		return nil, err
	}
	if err := syncTree(tmp); err != nil {
		return nil, err
	}
	res.Version, res.Previous = m.Version, prev
	newDir := filepath.Join(rels, m.Version)

	// From here a crash is rolled back by the next Apply or Recover.
	pb, _ := json.Marshal(pending{Version: m.Version, Previous: prev})
	if err := writeFileAtomic(filepath.Join(root, PendingName), pb, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, newDir); err != nil {
		os.Remove(filepath.Join(root, PendingName))
		return nil, err
	}
	if err := syncDir(rels); err != nil {
		return nil, err
	}
	if err := switchCurrent(root, m.Version); err != nil {
		return nil, errors.Join(err, rollback(root, m.Version, prev))
	}
	if err := check(newDir); err != nil {
		return nil, &HealthError{Version: m.Version, Previous: prev, Err: err, RollbackErr: rollback(root, m.Version, prev)}
	}
	if err := os.Remove(filepath.Join(root, PendingName)); err != nil {
		return nil, err
	}
	if err := syncDir(root); err != nil {
		return nil, err
	}
	res.Pruned, err = prune(rels, m.Version, prev)
	return res, err
}

// Recover rolls back an update that a crash interrupted between unpacking
// and the end of its health check: current goes back to the previous
// release and the interrupted one is removed. nil when there was none.
func Recover(root string) (*Recovery, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	unlock, err := lock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return recoverLocked(root)
}

func recoverLocked(root string) (*Recovery, error) {
	pf := filepath.Join(root, PendingName)
	b, err := os.ReadFile(pf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pending
	if err := json.Unmarshal(b, &p); err != nil || checkVersion(p.Version) != nil || (p.Previous != "" && checkVersion(p.Previous) != nil) {
		return nil, fmt.Errorf("update: %s is damaged (%q); fix %s by hand, then remove it", pf, b, filepath.Join(root, CurrentLink))
	}
	if err := rollback(root, p.Version, p.Previous); err != nil {
		return nil, fmt.Errorf("update: rolling back the interrupted update to %s: %w", p.Version, err)
	}
	return &Recovery{Version: p.Version, Previous: p.Previous}, nil
}

// rollback points current at prev (or removes it when prev is ""),
// removes releases/version and the pending file.
func rollback(root, version, prev string) error {
	cur, err := currentVersion(root)
	if err != nil {
		return err
	}
	if cur != prev {
		if prev == "" {
			err = os.Remove(filepath.Join(root, CurrentLink))
			if err == nil {
				err = syncDir(root)
			}
		} else {
			err = switchCurrent(root, prev)
		}
		if err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(root, ReleasesDir, version)); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(root, PendingName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(root)
}

// currentVersion reads root/current: "" when it does not exist.
func currentVersion(root string) (string, error) {
	link := filepath.Join(root, CurrentLink)
	fi, err := os.Lstat(link)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", fmt.Errorf("update: %s is not a symbolic link; not touching it", link)
	}
	target, err := os.Readlink(link)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(root, target)
	}
	rel, err := filepath.Rel(filepath.Join(root, ReleasesDir), target)
	if err != nil || strings.ContainsRune(rel, filepath.Separator) || checkVersion(rel) != nil {
		return "", fmt.Errorf("update: %s points to %s, not to a release in %s", link, target, filepath.Join(root, ReleasesDir))
	}
	return rel, nil
}

// switchCurrent points root/current at releases/version atomically: a
// new link renamed over the old one.
func switchCurrent(root, version string) error {
	tmp := filepath.Join(root, ".current.new")
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Join(ReleasesDir, version), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(root, CurrentLink)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(root)
}

// cleanIncoming removes unpacking directories a crash left behind.
func cleanIncoming(rels string) error {
	ents, err := os.ReadDir(rels)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), incomingPrefix) {
			if err := os.RemoveAll(filepath.Join(rels, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// prune removes every release but keep and prev.
func prune(rels, keep, prev string) ([]string, error) {
	ents, err := os.ReadDir(rels)
	if err != nil {
		return nil, err
	}
	var pruned []string
	for _, e := range ents {
		n := e.Name()
		if n == keep || n == prev || !e.IsDir() || checkVersion(n) != nil {
			continue
		}
		if err := os.RemoveAll(filepath.Join(rels, n)); err != nil {
			return pruned, err
		}
		pruned = append(pruned, n)
	}
	sort.Strings(pruned)
	return pruned, syncDir(rels)
}

// syncTree fsyncs every directory under dir (the files are synced as
// they are written).
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}
