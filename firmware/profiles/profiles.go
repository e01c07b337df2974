// Package profiles holds the board profiles shipped with LSMS Edge
// (firmware/profiles/*.json), embedded in the binary: NAME.json holds the
// profile named NAME.
package profiles

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/lsms-edge/lsms/firmware/profile"
)

//go:embed *.json
var files embed.FS

// Names lists the shipped profiles, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Get returns the shipped profile name, parsed, and its file's bytes.
func Get(name string) (*profile.Profile, []byte, error) {
	data, err := files.ReadFile(name + ".json")
	if err != nil || strings.ContainsAny(name, "/.") {
		return nil, nil, fmt.Errorf("profiles: no shipped profile %q (have %s)", name, strings.Join(Names(), ", "))
	}
	p, err := profile.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("profiles: %s.json: %w", name, err)
	}
	return p, data, nil
}
