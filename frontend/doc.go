// Package frontend is darn's BuildKit gateway frontend: the thin IO shell
// around the pure packages. Build reads the options, resolves and pins the
// image, reads the report from the named context "report", probes the
// image's package database once per platform, and hands a plan to the
// family's LLB; the result carries the patched image config.
//
// It is the only package that imports the gateway client and dockerui.
package frontend
