// Package policy turns a scanner report and the image's installed packages
// into an update plan: per package, upgrade to a version, already fixed, not
// installed, or no fix available. It is pure: no BuildKit, no IO.
package policy
