// Package vex writes the OpenVEX v0.2 document that goes with a patched
// image: for every vulnerability darn verified fixed after the upgrade, one
// statement with status "fixed" whose product is the patched image (an oci
// package URL pinned by digest) and whose subcomponents are the upgraded
// packages (deb package URLs at their new versions).
//
// A document claims nothing else. Vulnerabilities darn left alone (no fix
// yet, package not installed, already fixed before the patch) get no
// statement at all: a "not_affected" or "under_investigation" statement would
// assert something darn did not establish.
//
// Output is reproducible. The caller passes the timestamp, statements and
// subcomponents are sorted, and the default document @id is a hash of the
// content, so the same patched image and the same fixes give byte-identical
// documents. The package is pure: it takes values, returns values and
// performs no IO.
package vex
