// Package firmware is the board side of LSMS Edge; it holds no code of its
// own, only what goes onto a board and the tests of it:
//
//	profiles/        board profiles (JSON, package firmware/profiles)
//	profile/         the profile reader and validator
//	update/          signed update bundles: stage, sign, verify, apply, roll back
//	systemd/         lsms.service, the hardened unit
//	install.sh       first install of a release into /opt/lsms (or --prefix)
//
// The tests here run install.sh into a temporary prefix (--no-systemd
// --no-user) and check the unit with systemd-analyze when it is present.
package firmware
