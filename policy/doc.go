// Package policy reads, checks and writes BuildKit source policies: the
// rules that replace, pin or deny the images a patch pulls, and whose
// CONVERT rules on http(s) URLs act as repository mirrors. It uses
// BuildKit's policy types and matching engine, but no client of a daemon
// and no IO; the patch planning itself is package plan's.
package policy
