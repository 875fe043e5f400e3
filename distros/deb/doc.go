// Package deb is the package family of Debian, Ubuntu and their
// derivatives. It detects those releases from os-release or from a scanner
// report, reads the dpkg database (/var/lib/dpkg/status, or the
// /var/lib/dpkg/status.d/ directory of distroless images) into
// policy.Package values, and orders versions as dpkg does.
//
// Everything takes bytes and returns values; reading files out of an image
// is the caller's job.
package deb
