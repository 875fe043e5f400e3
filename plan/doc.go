// Package plan turns a scanner report and the image's installed packages
// into an update plan: per package, upgrade to a version, already fixed,
// not installed, or no fix available. After the upgrade it checks the
// package database read back against the plan and lists what changed.
//
// It is pure and family-neutral: versions are ordered by the Comparer of
// the image's package family, and nothing here knows BuildKit.
package plan
