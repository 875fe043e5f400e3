// Package llb holds darn's pure LLB building blocks, written once and shared
// by every package family: running a constant script with arguments, naming
// steps for the progress display, and layering a patch onto an untouched
// base. Nothing here talks to a daemon; callers marshal and solve.
package llb
