// Package update builds, verifies and applies signed update bundles for a
// board: the lsms binary, the model bundle and the board profile, as one
// release.
//
// A bundle is a tar file:
//
//	manifest.json   format, version, profile name, arch, created, and every
//	                file with its SHA-256, size and exec bit
//	manifest.sig    ed25519 signature of manifest.json's bytes (base64)
//	lsms            the binary (exec)
//	profile.json    the board profile (firmware/profile)
//	model/...       the model bundle (the profile's "model" directory),
//	                with health/manifest.jsonl: a few sample slices and their
//	                masks for the health check
//	lsms.env, VERSION, ...  any other file the manifest lists
//
// manifest.json and manifest.sig come first, so Verify checks the
// signature before it reads anything else, then streams every file
// through SHA-256: a file whose hash or size differs from the manifest, a
// file missing or not listed, a duplicate, anything but a regular file
// or directory, and any path that is absolute or climbs out with ".." is
// refused with an error naming it (ErrSignature, ErrHash, ErrLayout,
// ErrPath, ErrManifest).
//
// Apply installs a bundle under a root:
//
//	root/releases/<version>/   one directory per release
//	root/current -> releases/<version>
//
// It verifies while unpacking into a temporary directory, renames it into
// place, switches the current link atomically (a new link renamed over
// the old one) and runs a health check on the new release. If the check
// fails it switches back to the previous release and removes the new one
// (a *HealthError, ErrHealth). On success it keeps the previous release
// and removes older ones, so two releases stay. A pending file records an
// update between the switch and the end of the health check; Recover (run
// by Apply first) rolls back an update a crash or power loss interrupted
// there.
//
// ExecCheck is the health check of the command line: it runs the new
// binary on the release's own sample slices and wants it to exit 0 with a
// mean Dice at or above a floor. Stage assembles a release directory from
// a binary, a model bundle, a profile and a sample manifest; Sign turns it
// into a bundle.
package update
