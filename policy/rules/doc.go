// Package rules reads darn's patch policy — which vulnerabilities and
// packages a patch takes, which it leaves out and why — and applies it to
// a report. A policy is YAML or JSON with a version field (docs/policy.md);
// every error names the file, line and column, and every package or
// vulnerability left out names the rule that left it out, so that the
// summary, `--call plan` and the VEX can say so.
package rules
