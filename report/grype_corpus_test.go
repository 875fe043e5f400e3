package report

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// grypeCorpus is the shared corpus of real Grype reports, relative to this
// package's directory (the test's working directory).
var grypeCorpus = filepath.Join("..", "..", "shared", "corpus", "reports", "grype")

// corpusManifest describes the corpus; its rows hold the expected counts.
var corpusManifest = filepath.Join("..", "..", "shared", "corpus", "MANIFEST.md")

// grypeCorpusCase holds what MANIFEST.md says about one Grype report,
// counted by its "Counting rules": vulns counts the OS matches (artifact
// type deb, rpm or apk), fixable those with a non-empty fix.versions, pkgs
// the distinct artifact names among the fixable ones.
//
// The manifest counts raw matches, while Parse folds repeated (package,
// installed version, ID) matches into one; folded says how many matches
// a file's folding removes, so Parse must find vulns-folded. No folded
// match in the corpus is fixable, so fixable and pkgs compare exactly.
// fixable also agrees with Parse's rule that fix.versions counts only
// under fix.state "fixed" or no state: no OS match in the corpus lists
// versions under another state.
type grypeCorpusCase struct {
	file    string
	family  string
	version string
	vulns   int
	fixable int
	pkgs    int
	folded  int
}

// grypeCorpusCases was generated from the MANIFEST.md rows of
// reports/grype/; TestGrypeCorpusManifest checks that it still matches.
var grypeCorpusCases = []grypeCorpusCase{
	{"defectdojo__check_all_fields.json", "debian", "10", 3, 0, 0, 0},
	{"defectdojo__fix_available.json", "ubuntu", "20.04", 0, 0, 0, 0},
	{"defectdojo__issue_9618.json", "redhat", "8.7", 32, 20, 5, 0},
	{"defectdojo__many_vulns3.json", "debian", "10", 219, 0, 0, 0},
	{"defectdojo__many_vulns_with_epss_values.json", "busybox", "1.32.1", 0, 0, 0, 0},
	{"defectdojo__no_vuln.json", "busybox", "1.32.1", 0, 0, 0, 0},
	// libc6 2.28-10 matches CVE-2021-33574 at two locations (the dpkg
	// status file and a copy of libc.so.6); Parse folds them into one.
	{"defectdojo__same_cve_different_paths.json", "debian", "10", 2, 0, 0, 1},
	{"grype__TestEmptyJsonPresenter.json", "centos", "8.0", 0, 0, 0, 0},
	{"grype__TestJsonDirsPresenter.json", "centos", "8.0", 2, 1, 1, 0},
	{"grype__TestJsonImgsPresenter.json", "centos", "8.0", 2, 1, 1, 0},
	{"grype__chainguard-ruby-test.json", "wolfi", "20221118", 1, 1, 1, 0},
	{"grype__ghsa-test.json", "alpine", "3.14.2", 0, 0, 0, 0},
	{"grype__keycloak-test.json", "redhat", "9.1", 6, 0, 0, 0},
	{"klass-web__grype-report.json", "wolfi", "20230201", 0, 0, 0, 0},
}

// TestGrypeCorpus parses every file of the corpus and checks it against the
// manifest's numbers. A file without a row fails, so that a new corpus
// file cannot go untested.
func TestGrypeCorpus(t *testing.T) {
	entries, err := os.ReadDir(grypeCorpus)
	if os.IsNotExist(err) {
		t.Skipf("grype corpus not found at %s; it lives outside the module in the shared workspace", grypeCorpus)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]grypeCorpusCase{}
	for _, c := range grypeCorpusCases {
		cases[c.file] = c
	}
	for _, e := range entries {
		c, ok := cases[e.Name()]
		if !ok {
			t.Errorf("%s: no expected counts; add its MANIFEST.md row to grypeCorpusCases", e.Name())
			continue
		}
		delete(cases, e.Name())
		t.Run(e.Name(), func(t *testing.T) { checkGrypeCorpusFile(t, c) })
	}
	for name := range cases {
		t.Errorf("%s: listed in grypeCorpusCases but missing from %s", name, grypeCorpus)
	}
}

func checkGrypeCorpusFile(t *testing.T, c grypeCorpusCase) {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(grypeCorpus, c.file))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(dt)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if r.Scanner != "grype" {
		t.Errorf("Scanner = %q, want grype", r.Scanner)
	}
	wantOS := OS{Family: c.family, Version: c.version}
	if r.OS != wantOS {
		t.Errorf("OS = %+v, want %+v", r.OS, wantOS)
	}
	vulns, fixable, pkgs := countReport(r)
	if vulns != c.vulns-c.folded || fixable != c.fixable || pkgs != c.pkgs {
		t.Errorf("vulns/fixable/pkgs = %d/%d/%d, want %d/%d/%d (manifest vulns %d, %d folded)",
			vulns, fixable, pkgs, c.vulns-c.folded, c.fixable, c.pkgs, c.vulns, c.folded)
	}
	checkSorted(t, r)
}

// manifestGrypeRow matches a MANIFEST.md row of a Grype report and captures
// the file, the OS ("<family> <version>") and the three counts.
var manifestGrypeRow = regexp.MustCompile(
	"^\\| `reports/grype/([^`]+)` \\|.*?OS: (.+?); OS vulns: (\\d+); \\*\\*fixable: (\\d+)\\*\\*; pkgs to update: (\\d+)")

// TestGrypeCorpusManifest diffs grypeCorpusCases against MANIFEST.md, so
// the table cannot drift from the manifest it was generated from. The
// folded column is this package's own and is not compared.
func TestGrypeCorpusManifest(t *testing.T) {
	dt, err := os.ReadFile(corpusManifest)
	if os.IsNotExist(err) {
		t.Skipf("corpus manifest not found at %s; it lives outside the module in the shared workspace", corpusManifest)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := manifestGrypeCases(t, dt)
	got := map[string]string{}
	for _, c := range grypeCorpusCases {
		got[c.file] = formatGrypeCase(c.family, c.version, c.vulns, c.fixable, c.pkgs)
	}
	for file, w := range want {
		if g, ok := got[file]; !ok {
			t.Errorf("%s: in MANIFEST.md but not in grypeCorpusCases", file)
		} else if g != w {
			t.Errorf("%s: table has %s, MANIFEST.md has %s", file, g, w)
		}
	}
	for file := range got {
		if _, ok := want[file]; !ok {
			t.Errorf("%s: in grypeCorpusCases but has no MANIFEST.md row", file)
		}
	}
}

// manifestGrypeCases reads the Grype rows of MANIFEST.md, keyed by file,
// in the form formatGrypeCase writes.
func manifestGrypeCases(t *testing.T, manifest []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := manifestGrypeRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		family, version, _ := strings.Cut(m[2], " ")
		if m[2] == "-" {
			family, version = "", ""
		}
		n := make([]int, 3)
		for i := range n {
			n[i], _ = strconv.Atoi(m[3+i])
		}
		out[m[1]] = formatGrypeCase(family, version, n[0], n[1], n[2])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no reports/grype rows found in MANIFEST.md; has its format changed?")
	}
	return out
}

func formatGrypeCase(family, version string, vulns, fixable, pkgs int) string {
	return fmt.Sprintf("OS %q %q, vulns %d, fixable %d, pkgs %d", family, version, vulns, fixable, pkgs)
}
