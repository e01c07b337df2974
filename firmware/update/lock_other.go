//go:build !unix

package update

// lock is a no-op where flock is missing: run one update at a time.
func lock(root string) (unlock func(), err error) { return func() {}, nil }
