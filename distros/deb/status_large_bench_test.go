package deb

import (
	"fmt"
	"strings"
	"testing"
)

// realisticStatus returns a dpkg status database of n packages whose
// stanzas carry the fields a real one has (dependencies, conffiles, a
// description of a few lines). 5,000 packages are about 6 MB, the database
// of a large desktop system, ten times a big container image's.
func realisticStatus(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Package: pkg%05d\nStatus: install ok installed\nPriority: optional\nSection: libs\n"+
			"Installed-Size: %d\nMaintainer: Nobody <nobody@example.invalid>\nArchitecture: amd64\nMulti-Arch: same\n"+
			"Source: src%04d (%d.0-1)\nVersion: %d.0-1+deb12u1\n"+
			"Depends: libc6 (>= 2.34), libgcc-s1 (>= 3.0), pkg%05d (= %d.0-1+deb12u1)\n"+
			"Conffiles:\n /etc/pkg%05d/pkg.conf 0123456789abcdef0123456789abcdef\n"+
			"Description: synthetic package %d\n It does what a library does.\n .\n It has a long description.\n"+
			"Homepage: https://example.invalid/pkg%05d\n\n", i, 100+i, i/4, i, i, max(i-1, 0), max(i-1, 0), i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkParseStatusRealistic measures ParseStatus on a realistic
// database of 5,000 packages.
func BenchmarkParseStatusRealistic(b *testing.B) {
	dt := realisticStatus(5_000)
	b.SetBytes(int64(len(dt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStatus(dt); err != nil {
			b.Fatal(err)
		}
	}
}
