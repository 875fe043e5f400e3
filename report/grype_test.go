package report

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// grypeShapes covers each shape of Grype report with a small hand-written
// file in testdata/.
var grypeShapes = []struct {
	file string
	want Report
}{
	{
		// A CPE match with state "unknown" and a distro match of the
		// same ID fold into one that keeps the distro's two fixes and
		// "fixed"; "wont-fix" drops the versions it lists; the deb fix
		// of a source-package match keeps its missing epoch; the
		// java-archive match only counts in OtherFindings; Family is lowered.
		file: "grype-deb.json",
		want: Report{
			Scanner: "grype", Artifact: "debian:12", Architecture: "arm64",
			OS: OS{Family: "debian", Version: "12"},
			Packages: []Package{
				{Name: "apt", InstalledVersion: "2.6.1", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2011-3374", Status: "wont-fix"},
				}},
				{Name: "cpp", InstalledVersion: "4:12.2.0-3", SourceName: "gcc-defaults", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-4039", FixedVersions: []string{"1.205"}, Status: "fixed"},
				}},
				{Name: "libssl3", InstalledVersion: "3.0.11-1~deb12u2", SourceName: "openssl", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-5678", FixedVersions: []string{"3.0.11-1~deb12u3", "3.0.13-1~deb12u1"}, Status: "fixed"},
					{ID: "CVE-2024-2511", Status: "not-fixed"},
				}},
			},
			OtherFindings: 1,
		},
	},
	{
		// Fixes without an epoch inherit the installed one, which older
		// syft kept in metadata.epoch only (cups-libs); explicit epochs,
		// including 0, stay.
		file: "grype-rpm-epoch.json",
		want: Report{
			Scanner: "grype", Artifact: "registry.access.redhat.com/ubi8/ubi:8.7", Architecture: "amd64",
			OS: OS{Family: "redhat", Version: "8.7"},
			Packages: []Package{
				{Name: "avahi-libs", InstalledVersion: "0.7-20.el8", SourceName: "avahi", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-1981", FixedVersions: []string{"0:0.7-21.el8"}, Status: "fixed"},
				}},
				{Name: "bind-libs", InstalledVersion: "32:9.11.36-5.el8_7.2", SourceName: "bind", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2022-2795", FixedVersions: []string{"32:9.11.36-8.el8"}, Status: "fixed"},
					{ID: "CVE-2023-2828", FixedVersions: []string{"32:9.11.36-8.el8_8.1"}, Status: "fixed"},
				}},
				{Name: "cups-libs", InstalledVersion: "1:2.2.6-50.el8", SourceName: "cups", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-32360", FixedVersions: []string{"1:2.2.6-51.el8_8.1"}, Status: "fixed"},
				}},
			},
		},
	},
	{
		// A directory scan writes source.target as a plain string.
		file: "grype-apk.json",
		want: Report{
			Scanner: "grype", Artifact: "./rootfs",
			OS: OS{Family: "alpine", Version: "3.19.1"},
			Packages: []Package{
				{Name: "busybox", InstalledVersion: "1.36.1-r15", SourceName: "busybox", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2023-42366", Status: "not-fixed"},
				}},
				{Name: "libcrypto3", InstalledVersion: "3.1.4-r5", SourceName: "openssl", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2024-0727", FixedVersions: []string{"3.1.4-r6"}, Status: "fixed"},
				}},
			},
		},
	},
	{
		// Before grype 0.8.0 there was no fix object: nothing is
		// fixable and there is no status.
		file: "grype-v0.7-no-fix.json",
		want: Report{
			Scanner: "grype", Artifact: "defectdojo/defectdojo-django:1.13.1",
			OS: OS{Family: "debian", Version: "10"},
			Packages: []Package{
				{Name: "bash", InstalledVersion: "5.0-4", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2019-18276"},
				}},
				{Name: "libc6", InstalledVersion: "2.28-10", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2021-3326"},
				}},
			},
			OtherFindings: 1,
		},
	},
	{
		// Before upstreams, the source package was metadata.Source.
		file: "grype-v0.28-metadata-source.json",
		want: Report{
			Scanner: "grype", Artifact: "vulnerable-image:latest",
			OS: OS{Family: "debian", Version: "10"},
			Packages: []Package{
				{Name: "libc6", InstalledVersion: "2.28-10", SourceName: "glibc", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2021-33574", Status: "wont-fix"},
				}},
				{Name: "libgssapi-krb5-2", InstalledVersion: "1.17-3+deb10u3", SourceName: "krb5", Vulnerabilities: []Vulnerability{
					{ID: "CVE-2004-0971", Status: "not-fixed"},
				}},
			},
		},
	},
}

func TestParseGrypeShapes(t *testing.T) {
	for _, tc := range grypeShapes {
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

func TestParseGrypeEmpty(t *testing.T) {
	in := `{"matches": [], "source": {"type": "unknown", "target": "unknown"}, "distro": {}, "descriptor": {"name": "grype"}}`
	got, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Report{Scanner: "grype", Artifact: "unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseGrypeMalformed(t *testing.T) {
	_, err := Parse(readTestdata(t, "grype-malformed.json"))
	locErr, ok := errors.AsType[*LocationError](err)
	if !ok {
		t.Fatalf("err = %v, want a *LocationError", err)
	}
	// The `"artifact"` that follows `{"id": "CVE-2024-0727"}` without a
	// comma, on line 3.
	if locErr.Line != 3 || locErr.Column != 47 {
		t.Errorf("location = %d:%d, want 3:47", locErr.Line, locErr.Column)
	}
	if want := "parsing report: line 3, column 47: invalid character '\"'"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
}

func TestParseGrypeLocatesTypeErrors(t *testing.T) {
	in := "{\n  \"matches\": [\n    {\"artifact\": {\"name\": 7}}\n  ]\n}"
	_, err := Parse([]byte(in))
	locErr, ok := errors.AsType[*LocationError](err)
	if !ok {
		t.Fatalf("err = %v, want a *LocationError", err)
	}
	if locErr.Line != 3 {
		t.Errorf("line = %d, want 3 (err %v)", locErr.Line, err)
	}
	if !strings.HasPrefix(err.Error(), "parsing grype report: line 3, column ") {
		t.Errorf("err = %q, want the grype prefix and a location", err)
	}
}

func TestParseGrypeMissingID(t *testing.T) {
	in := `{"matches": [
		{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "x", "type": "npm"}},
		{"vulnerability": {}, "artifact": {"name": "musl", "type": "apk"}}
	]}`
	_, err := Parse([]byte(in))
	want := "parsing grype report: match 1: missing artifact.name or vulnerability.id"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestInheritEpoch(t *testing.T) {
	tests := []struct {
		name, installed, fixed, want string
	}{
		{"installed epoch, fix without", "32:9.11.36-5.el8_7.2", "9.11.36-8.el8_8.1", "32:9.11.36-8.el8_8.1"},
		{"epoch 0 is inherited too", "0:1.2-3", "1.2-4", "0:1.2-4"},
		{"fix has the same epoch", "32:9.11.36-5.el8", "32:9.11.36-8.el8", "32:9.11.36-8.el8"},
		{"fix has another epoch", "1:2.0-1", "2:1.0-1", "2:1.0-1"},
		{"fix has an explicit 0", "0.7-20.el8", "0:0.7-21.el8", "0:0.7-21.el8"},
		{"installed without epoch", "0.7-20.el8", "0.7-21.el8", "0.7-21.el8"},
		{"installed not an epoch", "x:1.0-1", "1.1-1", "1.1-1"},
		{"installed empty epoch", ":1.0-1", "1.1-1", "1.1-1"},
	}
	for _, tc := range tests {
		if got := inheritEpoch(tc.installed, tc.fixed); got != tc.want {
			t.Errorf("%s: inheritEpoch(%q, %q) = %q, want %q", tc.name, tc.installed, tc.fixed, got, tc.want)
		}
	}
}

// TestGrypeFixedVersions checks the epoch rule per package type and which
// fix states make fix.versions count.
func TestGrypeFixedVersions(t *testing.T) {
	tests := []struct {
		name      string
		pkgType   string
		installed string
		fix       *grypeFix
		want      []string
	}{
		{"rpm inherits", "rpm", "1:2.2.6-50.el8", &grypeFix{Versions: []string{"2.2.6-51.el8"}, State: "fixed"}, []string{"1:2.2.6-51.el8"}},
		{"rpm dedupes after inheriting", "rpm", "1:2.0-1", &grypeFix{Versions: []string{"2.0-2", "1:2.0-2"}, State: "fixed"}, []string{"1:2.0-2"}},
		{"deb keeps a missing epoch", "deb", "1:2.39.2-1.1", &grypeFix{Versions: []string{"2.39.5-0+deb12u1"}, State: "fixed"}, []string{"2.39.5-0+deb12u1"}},
		{"deb keeps an epoch", "deb", "1:2.39.2-1.1", &grypeFix{Versions: []string{"1:2.39.5-0+deb12u1"}, State: "fixed"}, []string{"1:2.39.5-0+deb12u1"}},
		{"apk as written", "apk", "3.1.4-r5", &grypeFix{Versions: []string{" 3.1.4-r6 ", ""}, State: "fixed"}, []string{"3.1.4-r6"}},
		{"empty state with versions", "deb", "1.0-1", &grypeFix{Versions: []string{"1.0-2"}}, []string{"1.0-2"}},
		{"not-fixed drops versions", "deb", "1.0-1", &grypeFix{Versions: []string{"1.0-2"}, State: "not-fixed"}, nil},
		{"wont-fix drops versions", "rpm", "1.0-1", &grypeFix{Versions: []string{"1.0-2"}, State: "wont-fix"}, nil},
		{"unknown drops versions", "apk", "1.0-r1", &grypeFix{Versions: []string{"1.0-r2"}, State: "unknown"}, nil},
		{"no fix object", "deb", "1.0-1", nil, nil},
	}
	for _, tc := range tests {
		v := grypeVuln(grypeVulnerability{ID: "CVE-1", Fix: tc.fix}, tc.pkgType, tc.installed)
		if !reflect.DeepEqual(v.FixedVersions, tc.want) {
			t.Errorf("%s: FixedVersions = %q, want %q", tc.name, v.FixedVersions, tc.want)
		}
	}
}

func TestGrypeInstalled(t *testing.T) {
	epoch := func(n int) *int { return &n }
	tests := []struct {
		name string
		a    grypeArtifact
		meta grypeMetadata
		want string
	}{
		{"rpm epoch from metadata", grypeArtifact{Type: "rpm", Version: "1.1.1"}, grypeMetadata{Epoch: epoch(2)}, "2:1.1.1"},
		{"rpm epoch already in version", grypeArtifact{Type: "rpm", Version: "2:1.1.1"}, grypeMetadata{Epoch: epoch(2)}, "2:1.1.1"},
		{"rpm epoch 0 left out", grypeArtifact{Type: "rpm", Version: "1.1.1"}, grypeMetadata{Epoch: epoch(0)}, "1.1.1"},
		{"rpm no epoch", grypeArtifact{Type: "rpm", Version: "1.1.1"}, grypeMetadata{}, "1.1.1"},
		{"rpm no version", grypeArtifact{Type: "rpm"}, grypeMetadata{Epoch: epoch(2)}, ""},
		{"deb ignores metadata", grypeArtifact{Type: "deb", Version: "1.1.1"}, grypeMetadata{Epoch: epoch(2)}, "1.1.1"},
	}
	for _, tc := range tests {
		if got := grypeInstalled(tc.a, tc.meta); got != tc.want {
			t.Errorf("%s: grypeInstalled = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestGrypeTarget(t *testing.T) {
	tests := []struct {
		raw, artifact, arch string
	}{
		{`{"userInput": "alpine:3.19", "architecture": "arm64"}`, "alpine:3.19", "arm64"},
		{`{"userInput": "alpine:3.19"}`, "alpine:3.19", ""},
		{`"/some/path"`, "/some/path", ""},
		{`null`, "", ""},
		{``, "", ""},
		{`42`, "", ""},
	}
	for _, tc := range tests {
		artifact, arch := grypeTarget([]byte(tc.raw))
		if artifact != tc.artifact || arch != tc.arch {
			t.Errorf("grypeTarget(%s) = %q, %q; want %q, %q", tc.raw, artifact, arch, tc.artifact, tc.arch)
		}
	}
}

// withoutSeverity clears the severities, which the shape tables leave out
// (TestSeverities checks them).
func withoutSeverity(r Report) Report {
	for i := range r.Packages {
		for j := range r.Packages[i].Vulnerabilities {
			r.Packages[i].Vulnerabilities[j].Severity = ""
		}
	}
	return r
}

// Severities are read from both scanners, upper-cased, a repeated ID
// keeping its highest.
func TestSeverities(t *testing.T) {
	for file, want := range map[string]map[string]string{
		"grype-deb.json": {"CVE-2023-5678": "MEDIUM", "CVE-2024-2511": "NEGLIGIBLE", "CVE-2023-4039": "LOW"},
		"trivy-v2.json":  {"CVE-2011-3374": "LOW"},
	} {
		got, err := Parse(readTestdata(t, file))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, p := range got.Packages {
			for _, v := range p.Vulnerabilities {
				seen[v.ID] = v.Severity
			}
		}
		for id, sev := range want {
			if seen[id] != sev {
				t.Errorf("%s: %s has severity %q, want %s", file, id, seen[id], sev)
			}
		}
	}
	merged := mergeVulns([]Vulnerability{{ID: "A", Severity: "LOW"}, {ID: "A", Severity: "HIGH"}, {ID: "A", Severity: "MEDIUM"}})
	if merged[0].Severity != "HIGH" {
		t.Errorf("merged severity %q, want HIGH", merged[0].Severity)
	}
	for s, r := range map[string]int{"critical": 5, "High": 4, "": 0, "bogus": 0, "NEGLIGIBLE": 1} {
		if SeverityRank(s) != r {
			t.Errorf("SeverityRank(%q) = %d, want %d", s, SeverityRank(s), r)
		}
	}
}
