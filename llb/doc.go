// Package llb holds darn's pure LLB building blocks, written once and shared
// by every package family: Run turns a family's step (distros.Step) into
// LLB — a constant script with arguments, the original root mounted
// read-only, cache mounts kept apart per image, proxies and network — and
// the patched root it returns is exported as the one new layer. Nothing here
// talks to a daemon; callers marshal and solve.
package llb
