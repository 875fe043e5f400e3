package rpm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDatabase reads one rpm database of the shared corpus by its path
// under pkgdb/, or skips when the corpus is not beside the clone.
func corpusDatabase(b *testing.B, path string) []byte {
	b.Helper()
	dt, err := os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(path)))
	if os.IsNotExist(err) {
		b.Skipf("%s is not in the corpus at %s", path, corpusDir)
	}
	if err != nil {
		b.Fatal(err)
	}
	return dt
}

// BenchmarkParseDatabase measures ParseDatabase on the largest database
// of each of rpm's backends in the corpus: sqlite (CBL-Mariner 2.0, 3.6
// MB), ndb (SLE 15 BCI, 1.4 MB) and Berkeley DB (92 KB).
func BenchmarkParseDatabase(b *testing.B) {
	for _, in := range []struct{ name, path string }{
		{"sqlite-corpus-largest", "go-rpmdb__cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite"},
		{"ndb-corpus", "go-rpmdb__sle15-bci-ndb/usr/lib/sysimage/rpm/Packages.db"},
		{"bdb-corpus-largest", "go-rpmdb__libuuid-bdb/var/lib/rpm/Packages"},
	} {
		b.Run(in.name, func(b *testing.B) {
			dt := corpusDatabase(b, in.path)
			b.SetBytes(int64(len(dt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDatabase(dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// syntheticManifest returns a container-manifest-2 of n packages, every
// tenth with an epoch; 20,000 lines are about 2.4 MB, a hundred times a
// real distroless image's.
func syntheticManifest(n int) []byte {
	var b strings.Builder
	for i := range n {
		epoch, num := "(none)", "0"
		if i%10 == 0 {
			epoch, num = "1", "1"
		}
		fmt.Fprintf(&b, "pkg%05d\t1.%d-%d.cm2\t1653816591\t1653628955\tMicrosoft Corporation\t%s\t10855265\tx86_64\t%s\tpkg%05d-1.%d-%d.cm2.src.rpm\n",
			i, i, i%9, epoch, num, i, i, i%9)
	}
	return []byte(b.String())
}

// BenchmarkParseManifest measures ParseManifest on a synthetic manifest
// of 20,000 packages and on the corpus's one.
func BenchmarkParseManifest(b *testing.B) {
	inputs := []struct {
		name string
		load func(*testing.B) []byte
	}{
		{"synthetic-20000", func(*testing.B) []byte { return syntheticManifest(20_000) }},
		{"corpus", func(b *testing.B) []byte {
			b.Helper()
			return corpusDatabase(b, "syft__mariner-distroless-manifest/var/lib/rpmmanifest/container-manifest-2")
		}},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dt := in.load(b)
			b.SetBytes(int64(len(dt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseManifest(dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
