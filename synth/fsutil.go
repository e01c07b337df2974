package synth

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// writeFile writes a new file inside the temporary dataset folder,
// which becomes visible only by rename after syncTree has made every
// file and folder in it durable.
func writeFile(name string, data []byte) error {
	return os.WriteFile(name, data, 0o644)
}

// syncTree fsyncs every file and then every folder under root, many
// files at a time (fsyncs issued together share journal commits).
func syncTree(root string) error {
	var files, dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	const par = 16
	errs := make(chan error, par)
	next := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for p := range next {
				if first != nil {
					continue
				}
				f, err := os.Open(p)
				if err == nil {
					err = f.Sync()
					f.Close()
				}
				first = err
			}
			errs <- first
		}()
	}
	for _, p := range files {
		next <- p
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	for _, d := range dirs {
		syncDir(d)
	}
	return nil
}

// WriteFileAtomic writes data to name through a synced temporary file in
// the same folder and a rename, so readers see the old file or the new
// one, never a part.
func WriteFileAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return err
	}
	syncDir(filepath.Dir(name))
	return nil
}

// syncDir fsyncs a folder so that renames and new entries in it are
// durable; errors are ignored (some file systems refuse).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
