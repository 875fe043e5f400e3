package apk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheticInstalled returns an installed database of n packages with
// files files each, shaped like Alpine's: every record's metadata, then
// its directories, files and their checksums. 2,000 packages of 50 files
// are about 7 MB, several times the largest database of a real image.
func syntheticInstalled(n, files int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "C:Q1d4HQ/Gyfw7NRD1qRvOgS6IzT2sI=\nP:pkg%05d\nV:1.%d.0-r%d\nA:x86_64\nS:11655\nI:77824\n"+
			"T:synthetic package %d\nU:https://example.invalid/pkg%05d\nL:MIT\no:origin%04d\n"+
			"m:Nobody <nobody@example.invalid>\nt:1662926906\nc:348653a9ba0701e8e968b3344e72313a9ef334e4\n"+
			"D:so:libc.musl-x86_64.so.1\np:so:libpkg%05d.so.1=1\nF:usr/lib/pkg%05d\n", i, i, i%7, i, i, i/3, i, i)
		for j := range files {
			fmt.Fprintf(&b, "R:file%03d.so\na:0:0:755\nZ:Q1toogjUipHGcMgECgPJX64SwUT1M=\n", j)
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// largestCorpusInstalled returns the biggest apk database of the shared
// corpus, or skips when the corpus is not beside the clone.
func largestCorpusInstalled(b *testing.B) []byte {
	b.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "pkgdb", "*", "lib", "apk", "db", "installed"))
	if err != nil {
		b.Fatal(err)
	}
	var biggest []byte
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if len(dt) > len(biggest) {
			biggest = dt
		}
	}
	if biggest == nil {
		b.Skipf("no apk database under %s", corpusDir)
	}
	return biggest
}

// BenchmarkParseDatabase measures ParseDatabase on a synthetic 7 MB
// database and on the largest database of the corpus.
func BenchmarkParseDatabase(b *testing.B) {
	inputs := []struct {
		name string
		load func(*testing.B) []byte
	}{
		{"synthetic-2000x50", func(*testing.B) []byte { return syntheticInstalled(2000, 50) }},
		{"corpus-largest", largestCorpusInstalled},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dt := in.load(b)
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
