// Package policy turns a scanner report and the image's installed packages
// into an update plan: per package, upgrade to a version, already fixed, not
// installed, or no fix available. It also reads, checks and writes BuildKit
// source policies (the rules that replace, pin or deny the images a patch
// pulls). It is pure: BuildKit's policy types and matching engine, but no
// client of a daemon and no IO.
package policy
