// Package distros holds what every package family shares: the Release read
// from an image's os-release, the Family interface a family implements and
// the Registry the patch core reaches families through, the FS reader of an
// image's files, the Step a family describes as data (package llb turns it
// into LLB), repository mirrors, and the UnsupportedError for releases darn
// cannot patch.
//
// Each family lives in its own subpackage (deb for Debian and Ubuntu, and
// later rpm and apk) and knows nothing of BuildKit. Per-release facts such
// as suite names and tooling images are data tables in the subpackage, so a
// new release is a one-line change. Package all is the registry.
package distros
