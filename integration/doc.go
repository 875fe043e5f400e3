// Package integration holds darn's end-to-end tests: a real buildkitd, a
// real registry on 127.0.0.1 and real Debian images made by the test bed
// (integration/testbed/up.sh, run by `make test-integration`). Results are
// checked from the registry's bytes, not from the daemon that made them.
package integration
