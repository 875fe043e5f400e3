// Package advisorydb turns advisories JSON files (one fixed vulnerability
// of one package per entry, for Debian, Rocky Linux, Azure Linux, openSUSE
// Leap, Alpine and Wolfi) into a Trivy vulnerability database, schema 2,
// so that Trivy can scan offline with `--skip-db-update` against
// advisories the test bed controls.
//
// The database is written with trivy-db's own code, the way the published
// database is built: a vulnsrc puts advisory details, vulnerability details,
// vulnerability IDs and the data sources (through the Rocky and SUSE CVRF
// vulnsrcs' own Put where trivy-db exports it), then trivy-db's vulndb
// copies the advisories into the platform buckets Trivy reads ("debian 12",
// "rocky 9", "Azure Linux 3.0", "openSUSE Leap 15.6", "alpine 3.20",
// "wolfi" → package → vulnerability ID), fills the "vulnerability" bucket
// and drops the intermediate buckets. distro.go says what each of Trivy's
// detectors reads.
package advisorydb
