package deb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pkgdbCorpus is the shared package-database corpus beside the clone,
// relative to this package's directory, where go test runs.
var pkgdbCorpus = filepath.Join("..", "..", "..", "shared", "corpus", "pkgdb")

// longDescription is the Description value of every longStatus stanza:
// a first line, then lines continuation lines alternating between a
// paragraph separator and a word, the short lines that made appending to
// the field quadratic.
func longDescription(lines int) string {
	var b strings.Builder
	b.WriteString("synthetic")
	for i := range lines {
		b.WriteString([]string{"\n.", "\nx"}[i%2])
	}
	return b.String()
}

// longStatus returns a dpkg status database of n installed packages,
// pkg0000 and on, whose Description runs over lines continuation lines.
// longStatus(2, 100_000) is about 600 KB.
func longStatus(n, lines int) []byte {
	desc := strings.ReplaceAll(longDescription(lines), "\n", "\n ")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Package: pkg%04d\nStatus: install ok installed\nArchitecture: amd64\n"+
			"Version: 1.0-%d\nDescription: %s\n\n", i, i, desc)
	}
	return []byte(b.String())
}

// longStatusDir returns a distroless status.d tree of n files, one
// package each with a long Description, and an md5sums sidecar per file.
func longStatusDir(n, lines int) map[string][]byte {
	files := make(map[string][]byte, 2*n)
	for i := range n {
		name := fmt.Sprintf("pkg%04d", i)
		stanza := strings.Replace(string(longStatus(1, lines)), "pkg0000", name, 1)
		files[name] = []byte(stanza)
		files[name+".md5sums"] = []byte("d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/" + name + "/copyright\n")
	}
	return files
}

// largestCorpusStatus returns the biggest var/lib/dpkg/status of the
// corpus, or skips when the corpus is absent.
func largestCorpusStatus(b *testing.B) []byte {
	b.Helper()
	paths, err := filepath.Glob(filepath.Join(pkgdbCorpus, "*", "var", "lib", "dpkg", "status"))
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
		b.Skipf("no dpkg status file under %s", pkgdbCorpus)
	}
	return biggest
}

// BenchmarkParseStatus measures ParseStatus on a 600 KB database of long
// fields and on the largest status file of the corpus, which it skips
// when the corpus is not beside the clone.
func BenchmarkParseStatus(b *testing.B) {
	inputs := []struct {
		name string
		load func(*testing.B) []byte
	}{
		{"synthetic-600KB", func(*testing.B) []byte { return longStatus(2, 100_000) }},
		{"corpus-largest", largestCorpusStatus},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dt := in.load(b)
			b.SetBytes(int64(len(dt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseStatus(dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseStatusDir measures ParseStatusDir on 200 files with
// long fields and their md5sums sidecars.
func BenchmarkParseStatusDir(b *testing.B) {
	files := longStatusDir(200, 1_000)
	var size int64
	for _, dt := range files {
		size += int64(len(dt))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStatusDir(files); err != nil {
			b.Fatal(err)
		}
	}
}
