package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// maxSeed bounds the corpus files used as seeds: the fuzzer minimises
// every input that finds new code, which on a report of a megabyte takes
// most of a short run. The conformance tests read every file whole.
const maxSeed = 64 << 10

// FuzzParseTrivy runs Parse on Trivy-shaped input: the Trivy files of
// testdata and of the shared corpus, and testdata/fuzz.
func FuzzParseTrivy(f *testing.F) {
	seedReports(f, "trivy-*.json", trivyCorpus)
	f.Fuzz(checkParse)
}

// FuzzParseGrype runs Parse on Grype-shaped input: the Grype files of
// testdata and of the shared corpus, and testdata/fuzz.
func FuzzParseGrype(f *testing.F) {
	seedReports(f, "grype-*.json", grypeCorpus)
	f.Fuzz(checkParse)
}

// checkParse checks what Parse documents for whatever it accepts: packages
// sorted by name and installed version, each once, each vulnerability ID
// once per package and in order, and a byte-order mark changing nothing.
func checkParse(t *testing.T, dt []byte) {
	r, err := Parse(dt)
	if err != nil {
		return
	}
	if r.Scanner != "trivy" && r.Scanner != grypeScanner {
		t.Fatalf("Scanner = %q", r.Scanner)
	}
	if r.OS.Family != strings.ToLower(r.OS.Family) || r.OtherFindings < 0 {
		t.Fatalf("OS family %q, OtherFindings %d", r.OS.Family, r.OtherFindings)
	}
	for i, p := range r.Packages {
		if i > 0 && !packageLess(r.Packages[i-1], p) {
			t.Fatalf("packages out of order or repeated: %+v then %+v", r.Packages[i-1], p)
		}
		checkFuzzedPackage(t, p)
	}
	if !bytes.HasPrefix(dt, utf8BOM) {
		withBOM, err := Parse(append(bytes.Clone(utf8BOM), dt...))
		if err != nil || !reflect.DeepEqual(withBOM, r) {
			t.Fatalf("with a byte-order mark: %+v, %v\nwant %+v", withBOM, err, r)
		}
	}
}

func packageLess(a, b Package) bool {
	return a.Name < b.Name || (a.Name == b.Name && a.InstalledVersion < b.InstalledVersion)
}

// checkFuzzedPackage checks one package: a name, vulnerabilities sorted by
// non-empty ID, each ID once, and fixed versions without blanks around.
func checkFuzzedPackage(t *testing.T, p Package) {
	t.Helper()
	if p.Name == "" || len(p.Vulnerabilities) == 0 {
		t.Fatalf("package %+v: no name or no vulnerability", p)
	}
	for j, v := range p.Vulnerabilities {
		if v.ID == "" || (j > 0 && p.Vulnerabilities[j-1].ID >= v.ID) {
			t.Fatalf("package %s: vulnerability IDs empty, out of order or repeated: %+v", p.Name, p.Vulnerabilities)
		}
		for _, f := range v.FixedVersions {
			if f == "" || f != strings.TrimSpace(f) {
				t.Fatalf("package %s: %s: fixed version %q", p.Name, v.ID, f)
			}
		}
	}
}

// seedReports adds the testdata files matching pattern and, when the
// shared corpus is beside the clone, the corpus files in dir up to maxSeed.
func seedReports(f *testing.F, pattern, dir string) {
	f.Helper()
	testdata, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	corpus, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, name := range append(testdata, corpus...) {
		dt, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(dt) <= maxSeed {
			f.Add(dt)
		}
	}
}

// FuzzPosition checks that every offset maps to a line and column inside
// the input, where a user can find it.
func FuzzPosition(f *testing.F) {
	f.Add([]byte("{\n  \"a\": 1,,\n}"), int64(12))
	f.Add([]byte(""), int64(0))
	f.Add([]byte("\n\n"), int64(-5))
	f.Fuzz(func(t *testing.T, dt []byte, offset int64) {
		line, col := position(dt, offset)
		lines := bytes.Split(dt, []byte("\n"))
		if line < 1 || line > len(lines) || col < 1 || (len(dt) > 0 && col > len(lines[line-1])+1) {
			t.Fatalf("position(%q, %d) = %d:%d, outside the input", dt, offset, line, col)
		}
	})
}
