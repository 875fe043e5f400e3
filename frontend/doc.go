// Package frontend is darn's BuildKit gateway frontend: the thin IO shell
// around the pure core (package patch), as BuildKit's Dockerfile builder is
// around dockerfile2llb. Build reads the options with patch.ParseOptions,
// resolves and pins the image per platform, reads the reports from the
// named context "report", probes the image once per platform, solves the
// core's LLB and assembles the result with the patched image config.
//
// It is the only package that imports the gateway client and dockerui.
package frontend
