// Package advisorydb turns an advisories JSON file (one fixed vulnerability
// of one source package per entry) into a Trivy vulnerability database,
// schema 2, so that Trivy can scan offline with `--skip-db-update` against
// advisories the test bed controls.
//
// The database is written with trivy-db's own code, the way the published
// database is built: a vulnsrc puts advisory details, vulnerability details,
// vulnerability IDs and the data source, then trivy-db's vulndb copies the
// advisories into the platform buckets Trivy reads ("debian 12" → source
// package → vulnerability ID), fills the "vulnerability" bucket and drops the
// intermediate buckets.
package advisorydb
