package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// trivyShapes covers each shape of Trivy report with a small hand-written
// file in testdata/.
var trivyShapes = []struct {
	file string
	want Report
}{
	{
		// Two entries of one ID fold into one; a comma list splits;
		// the source name comes from Packages[]; Family is lowered.
		file: "trivy-v2.json",
		want: Report{
			Scanner: "trivy", Artifact: "debian:12", Architecture: "arm64",
			OS: OS{Family: "debian", Version: "12.5"},
			Packages: []Package{
				{Name: "apt", InstalledVersion: "2.6.1", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2011-3374", Status: "affected"},
				}},
				{Name: "libssl3", InstalledVersion: "3.0.11-1~deb12u2", SourceName: "openssl", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-5678", FixedVersions: []string{"3.0.11-1~deb12u3", "3.0.13-1~deb12u1"}, Status: "fixed"},
					{ID: "CVE-2024-0727", FixedVersions: []string{"3.0.13-1~deb12u1"}, Status: "fixed"},
					{ID: "CVE-2024-2511", Status: "affected"},
				}},
			},
		},
	},
	{
		file: "trivy-v2-lang-pkgs.json",
		want: Report{
			Scanner: "trivy", Artifact: "node-app:latest", Architecture: "amd64",
			OS: OS{Family: "alpine", Version: "3.18.12", EOSL: true},
			Packages: []Package{
				{Name: "libcrypto3", InstalledVersion: "3.1.4-r5", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2024-5535", FixedVersions: []string{"3.1.6-r0"}, Status: "fixed"},
				}},
			},
			OtherFindings: 2,
		},
	},
	{
		file: "trivy-legacy-type.json",
		want: Report{
			Scanner: "trivy", Artifact: "alpine:3.7.1",
			OS: OS{Family: "alpine", Version: "3.7.1"},
			Packages: []Package{
				{Name: "libssl1.0", InstalledVersion: "1.0.2o-r0", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2018-0732", FixedVersions: []string{"1.0.2o-r1"}},
				}},
				{Name: "musl", InstalledVersion: "1.1.18-r3", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2019-14697", FixedVersions: []string{"1.1.18-r4"}},
				}},
			},
			OtherFindings: 1,
		},
	},
	{
		file: "trivy-legacy-target.json",
		want: Report{
			Scanner: "trivy", Artifact: "debian:10",
			OS: OS{Family: "debian", Version: "10.8"},
			Packages: []Package{
				{Name: "apt", InstalledVersion: "1.8.2.2", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2011-3374"},
				}},
				{Name: "liblz4-1", InstalledVersion: "1.8.3-1", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2021-3520", FixedVersions: []string{"1.8.3-1+deb10u1"}},
				}},
			},
			OtherFindings: 1,
		},
	},
	{
		file: "trivy-null.json",
		want: Report{Scanner: "trivy"},
	},
}

func TestParseTrivyShapes(t *testing.T) {
	for _, tc := range trivyShapes {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Parse(readTestdata(t, tc.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(withoutSeverity(got), tc.want) {
				t.Errorf("Parse mismatch\ngot:  %s\nwant: %s", toJSON(t, got), toJSON(t, tc.want))
			}
		})
	}
}

func TestParseTrivyMissingPkgName(t *testing.T) {
	dt := []byte(`[{"Target": "x (alpine 3.19.1)", "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]`)
	_, err := Parse(dt)
	want := `parsing trivy report: result "x (alpine 3.19.1)": vulnerability 0: missing PkgName or VulnerabilityID`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		target     string
		wantPrefix string
		wantOS     OS
		wantOK     bool
	}{
		{"alpine:3.7.1 (alpine 3.7.1)", "alpine:3.7.1", OS{Family: "alpine", Version: "3.7.1"}, true},
		{"debian:10 (debian 10.8)", "debian:10", OS{Family: "debian", Version: "10.8"}, true},
		{"amazon-2.tar.gz (amazon 2 (Karoo))", "amazon-2.tar.gz", OS{Family: "amazon", Version: "2 (Karoo)"}, true},
		{"img (amazon AMI release 2018.03)", "img", OS{Family: "amazon", Version: "AMI release 2018.03"}, true},
		{"img (opensuse.leap 15.1)", "img", OS{Family: "opensuse.leap", Version: "15.1"}, true},
		{"img (Ubuntu 22.04)", "img", OS{Family: "ubuntu", Version: "22.04"}, true},
		{"app/package-lock.json", "", OS{}, false},
		{"img (alpine)", "img", OS{}, false},
		{"notes (see the README)", "notes", OS{}, false},
		{"unbalanced alpine 3.7)", "", OS{}, false},
	}
	for _, tc := range tests {
		prefix, gotOS, ok := splitTarget(tc.target)
		if ok != tc.wantOK || gotOS != tc.wantOS || (ok && prefix != tc.wantPrefix) {
			t.Errorf("splitTarget(%q) = %q, %+v, %v; want %q, %+v, %v",
				tc.target, prefix, gotOS, ok, tc.wantPrefix, tc.wantOS, tc.wantOK)
		}
	}
}

func TestIsOSResult(t *testing.T) {
	tests := []struct {
		name string
		r    trivyResult
		want bool
	}{
		{"class os", trivyResult{Target: "Python", Class: "os-pkgs"}, true},
		{"class lang wins over suffix", trivyResult{Target: "x (alpine 3.7)", Class: "lang-pkgs"}, false},
		{"os type", trivyResult{Target: "debian", Type: "debian"}, true},
		{"lang type", trivyResult{Target: "Gemfile.lock", Type: "bundler"}, false},
		{"unlisted type agreeing with suffix", trivyResult{Target: "x (newdistro 1.0)", Type: "newdistro"}, true},
		{"lang type with odd suffix", trivyResult{Target: "x (alpine 3.7)", Type: "npm"}, false},
		{"no type, suffix", trivyResult{Target: "x (ubuntu 18.04)"}, true},
		{"no type, no suffix", trivyResult{Target: "app/Gemfile.lock"}, false},
	}
	for _, tc := range tests {
		if got := isOSResult(tc.r); got != tc.want {
			t.Errorf("%s: isOSResult(%+v) = %v, want %v", tc.name, tc.r, got, tc.want)
		}
	}
}

func TestSplitFixed(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" ", nil},
		{"1.2-r0", []string{"1.2-r0"}},
		{"1.1.1k-r0, 1.1.1l-r0", []string{"1.1.1k-r0", "1.1.1l-r0"}},
		{"a,,b,", []string{"a", "b"}},
	}
	for _, tc := range tests {
		if got := splitFixed(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitFixed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	dt, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}
