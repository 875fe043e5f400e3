package report

import (
	"os"
	"path/filepath"
	"testing"
)

// trivyCorpus is the shared corpus of real Trivy reports, relative to this
// package's directory (the test's working directory).
var trivyCorpus = filepath.Join("..", "..", "shared", "corpus", "reports", "trivy")

// corpusCase holds what /work/shared/corpus/MANIFEST.md says about one
// report, counted by its "Counting rules": vulns and fixable count the
// vulnerability entries of OS results (fixable: FixedVersion non-empty),
// pkgs the distinct PkgName values among fixable entries.
//
// The manifest counts raw entries, while Parse folds repeated
// (package, installed version, ID) entries into one. The test counts
// those distinct pairs; no corpus file repeats one, so both counts agree
// and a mismatch is a real disagreement. pkgs is compared exactly.
type corpusCase struct {
	file    string
	family  string
	version string
	eosl    bool
	vulns   int
	fixable int
	pkgs    int
}

var trivyCorpusCases = []corpusCase{
	{"clockard__trivy-results.json", "alpine", "3.23.4", false, 0, 0, 0},
	{"copa__alpine-report.json", "alpine", "3.21.0", false, 6, 6, 4},
	{"copa__mariner.json", "cbl-mariner", "2.0.20220527", false, 41, 41, 5},
	{"copa__pkg_types_test.json", "ubuntu", "20.04", false, 1, 1, 1},
	{"copa__trivy_dotnet.json", "debian", "12.5", false, 0, 0, 0},
	{"copa__trivy_no_history.json", "alpine", "3.21.0", false, 1, 1, 1},
	{"copa__trivy_node_valid.json", "alpine", "3.16.0", false, 1, 1, 1},
	{"copa__trivy_python_venv.json", "debian", "12.5", false, 0, 0, 0},
	{"copa__trivy_valid.json", "alpine", "3.14.0", false, 1, 1, 1},
	{"copa__vulnerable-node-app-report.json", "alpine", "3.21.3", false, 0, 0, 0},
	{"defectdojo__all_statuses.json", "debian", "10.13", false, 8, 0, 0},
	{"defectdojo__issue_9333.json", "debian", "10.13", false, 13, 1, 1},
	{"defectdojo__legacy_many_vulns.json", "debian", "10.8", false, 93, 0, 0},
	{"defectdojo__legacy_no_vuln.json", "", "", false, 0, 0, 0},
	{"defectdojo__legacy_trivy_mix.json", "alpine", "3.7.1", false, 5, 5, 2},
	{"defectdojo__scheme_2_many_vulns.json", "alpine", "3.9.4", false, 3, 3, 3},
	{"defectdojo__scheme_2_no_vuln.json", "alpine", "3.14.0", false, 0, 0, 0},
	{"steadybit__trivy-results.json", "alpine", "3.18.12", true, 0, 0, 0},
	{"trivy-20191018__alpine-310.json", "alpine", "3.10.2", false, 3, 3, 1},
	{"trivy-20191018__ubuntu-1804.json", "ubuntu", "18.04", false, 61, 7, 7},
	{"trivy-20201214__amazon-2.json", "amazon", "2 (Karoo)", false, 77, 77, 22},
	{"trivy-20201214__ubuntu-1804.json", "ubuntu", "18.04", false, 84, 22, 9},
	{"trivy-20210709__alpine-310.json", "alpine", "3.10.2", false, 8, 8, 2},
	{"trivy-20210709__centos-7-ignore-unfixed.json", "centos", "7.6.1810", false, 100, 100, 25},
	{"trivy-20210709__debian-buster.json", "debian", "10.1", false, 93, 19, 11},
	{"trivy-20211224__alpine-310.json", "alpine", "3.10.2", true, 8, 8, 2},
	{"trivy-20211224__alpine-39.json", "alpine", "3.9.4", true, 10, 10, 4},
	{"trivy-20211224__amazon-1.json", "amazon", "AMI release 2018.03", false, 16, 16, 10},
	{"trivy-20211224__amazon-2.json", "amazon", "2 (Karoo)", false, 77, 77, 22},
	{"trivy-20211224__centos-7.json", "centos", "7.6.1810", false, 711, 100, 25},
	{"trivy-20211224__debian-buster.json", "debian", "10.1", false, 93, 19, 11},
	{"trivy-20211224__debian-stretch.json", "debian", "9.9", false, 160, 4, 4},
	{"trivy-20211224__distroless-base-ignore-unfixed.json", "debian", "9.9", false, 2, 2, 2},
	{"trivy-20211224__distroless-base.json", "debian", "9.9", false, 29, 2, 2},
	{"trivy-20211224__distroless-python27.json", "debian", "9.9", false, 103, 2, 2},
	{"trivy-20211224__opensuse-leap-151.json", "opensuse.leap", "15.1", true, 18, 18, 17},
	{"trivy-20211224__opensuse-leap-423.json", "opensuse.leap", "42.3", true, 0, 0, 0},
	{"trivy-20211224__oraclelinux-6-slim.json", "oracle", "6.10", true, 10, 10, 6},
	{"trivy-20211224__oraclelinux-7-slim.json", "oracle", "7.6", false, 57, 57, 17},
	{"trivy-20211224__oraclelinux-8-slim.json", "oracle", "8.0", false, 40, 40, 17},
	{"trivy-20211224__photon-10.json", "photon", "1.0", false, 21, 21, 7},
	{"trivy-20211224__photon-20.json", "photon", "2.0", false, 29, 29, 10},
	{"trivy-20211224__ubi-7.json", "redhat", "7.7", false, 631, 13, 7},
	{"trivy-20211224__ubuntu-1604.json", "ubuntu", "16.04", false, 183, 25, 10},
	{"trivy-20211224__ubuntu-1804.json", "ubuntu", "18.04", false, 84, 22, 9},
	{"trivy__almalinux-8.json", "alma", "8.5", false, 1, 1, 1},
	{"trivy__alpine-310.json", "alpine", "3.10.2", true, 4, 4, 2},
	{"trivy__alpine-39-high-critical.json", "alpine", "3.9.4", true, 2, 2, 2},
	{"trivy__alpine-39-ignore-cveids.json", "alpine", "3.9.4", true, 2, 2, 2},
	// The manifest shows "none (Name empty)": Trivy's Family "none" means
	// it detected no OS, which Parse reports as the zero OS.
	{"trivy__alpine-39-skip.json", "", "", false, 0, 0, 0},
	{"trivy__alpine-39.json", "alpine", "3.9.4", true, 6, 6, 4},
	{"trivy__alpine-distroless.json", "alpine", "3.16", false, 1, 1, 1},
	{"trivy__amazon-1.json", "amazon", "AMI release 2018.03", false, 1, 1, 1},
	{"trivy__amazon-2.json", "amazon", "2 (Karoo)", false, 2, 2, 1},
	{"trivy__amazonlinux2-gp2-x86-vm.json", "amazon", "2 (Karoo)", false, 1, 1, 1},
	{"trivy__busybox-with-lockfile.json", "", "", false, 0, 0, 0},
	{"trivy__centos-6.json", "centos", "6.10", true, 2, 1, 1},
	{"trivy__centos-7-ignore-unfixed.json", "centos", "7.6.1810", false, 2, 2, 1},
	{"trivy__centos-7-medium.json", "centos", "7.6.1810", false, 1, 1, 1},
	{"trivy__centos-7.json", "centos", "7.6.1810", false, 3, 2, 1},
	{"trivy__debian-buster-ignore-unfixed.json", "debian", "10.1", false, 1, 1, 1},
	{"trivy__debian-buster.json", "debian", "10.1", false, 2, 1, 1},
	{"trivy__debian-stretch.json", "debian", "9.9", false, 5, 4, 4},
	{"trivy__distroless-base.json", "debian", "9.9", false, 4, 2, 2},
	{"trivy__distroless-python27.json", "debian", "9.9", false, 4, 2, 2},
	{"trivy__mariner-1.0.json", "cbl-mariner", "1.0", false, 2, 1, 1},
	{"trivy__opensuse-leap-151.json", "opensuse-leap", "15.1", true, 2, 2, 2},
	{"trivy__opensuse-tumbleweed.json", "opensuse-tumbleweed", "20240607", false, 1, 1, 1},
	{"trivy__oraclelinux-8.json", "oracle", "8.0", false, 2, 2, 1},
	{"trivy__photon-30.json", "photon", "3.0", false, 3, 3, 3},
	{"trivy__rockylinux-8.json", "rocky", "8.5", false, 1, 1, 1},
	{"trivy__sl-micro-rancher5.4.json", "slem", "5.4", false, 0, 0, 0},
	{"trivy__ubi-7-comprehensive.json", "redhat", "7.7", false, 1, 0, 0},
	{"trivy__ubi-7.json", "redhat", "7.7", false, 1, 0, 0},
	{"trivy__ubuntu-1804-ignore-unfixed.json", "ubuntu", "18.04", false, 4, 4, 4},
	{"trivy__ubuntu-1804.json", "ubuntu", "18.04", false, 5, 4, 4},
	{"trivy__ubuntu-gp2-x86-vm.json", "ubuntu", "22.04", false, 1, 0, 0},
}

// TestTrivyCorpus parses every file of the corpus and checks it against the
// manifest's numbers. A file without a row fails, so that a new corpus
// file cannot go untested.
func TestTrivyCorpus(t *testing.T) {
	entries, err := os.ReadDir(trivyCorpus)
	if os.IsNotExist(err) {
		t.Skipf("trivy corpus not found at %s; it lives outside the module in the shared workspace", trivyCorpus)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]corpusCase{}
	for _, c := range trivyCorpusCases {
		cases[c.file] = c
	}
	for _, e := range entries {
		c, ok := cases[e.Name()]
		if !ok {
			t.Errorf("%s: no expected counts; add its MANIFEST.md row to trivyCorpusCases", e.Name())
			continue
		}
		delete(cases, e.Name())
		t.Run(e.Name(), func(t *testing.T) { checkCorpusFile(t, c) })
	}
	for name := range cases {
		t.Errorf("%s: listed in trivyCorpusCases but missing from %s", name, trivyCorpus)
	}
}

func checkCorpusFile(t *testing.T, c corpusCase) {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(trivyCorpus, c.file))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(dt)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if r.Scanner != "trivy" {
		t.Errorf("Scanner = %q, want trivy", r.Scanner)
	}
	wantOS := OS{Family: c.family, Version: c.version, EOSL: c.eosl}
	if r.OS != wantOS {
		t.Errorf("OS = %+v, want %+v", r.OS, wantOS)
	}
	vulns, fixable, pkgs := countReport(r)
	if vulns != c.vulns || fixable != c.fixable || pkgs != c.pkgs {
		t.Errorf("vulns/fixable/pkgs = %d/%d/%d, want %d/%d/%d", vulns, fixable, pkgs, c.vulns, c.fixable, c.pkgs)
	}
	checkSorted(t, r)
}

// countReport counts as the manifest does, over the merged packages:
// (package, ID) pairs, the fixable ones, and the distinct names to update.
func countReport(r Report) (vulns, fixable, pkgs int) {
	names := map[string]bool{}
	for _, p := range r.Packages {
		for _, v := range p.Vulnerabilities {
			vulns++
			if v.Fixable() {
				fixable++
				names[p.Name] = true
			}
		}
	}
	return vulns, fixable, len(names)
}

// checkSorted asserts the ordering and uniqueness that Report documents.
func checkSorted(t *testing.T, r Report) {
	t.Helper()
	for i, p := range r.Packages {
		if i > 0 {
			prev := r.Packages[i-1]
			if prev.Name > p.Name || (prev.Name == p.Name && prev.InstalledVersion >= p.InstalledVersion) {
				t.Errorf("packages out of order: %s %s before %s %s", prev.Name, prev.InstalledVersion, p.Name, p.InstalledVersion)
			}
		}
		for j := 1; j < len(p.Vulnerabilities); j++ {
			if p.Vulnerabilities[j-1].ID >= p.Vulnerabilities[j].ID {
				t.Errorf("%s: vulnerabilities out of order or repeated at %s", p.Name, p.Vulnerabilities[j].ID)
			}
		}
	}
}
