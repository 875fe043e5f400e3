// Package distros holds what every package family shares: the Release read
// from an image's os-release and the UnsupportedError returned for releases
// darn cannot patch.
//
// Each family lives in its own subpackage (deb for Debian and Ubuntu, and
// later rpm and apk). A subpackage detects its releases, parses its package
// database into policy.Package values and orders versions as its package
// manager does. Per-release facts such as suite names are data tables in the
// subpackage rather than code branches, so a new release is a one-line
// change. Nothing here performs IO: callers pass file contents as bytes.
package distros
