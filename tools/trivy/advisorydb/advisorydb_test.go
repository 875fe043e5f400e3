package advisorydb

import (
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	trivydblog "github.com/aquasecurity/trivy-db/pkg/log"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/debian"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	trivylog "github.com/aquasecurity/trivy/pkg/log"
	bolt "go.etcd.io/bbolt"
)

// bedAdvisories are the files the test bed builds its database from.
const bedAdvisories = "../../../integration/testdata/advisories/*.json"

func TestMain(m *testing.M) {
	// trivy-db narrates every build step at info level, Trivy every scan.
	trivydblog.SetLogger(slog.New(slog.DiscardHandler))
	trivylog.InitLogger(false, true)
	os.Exit(m.Run())
}

func advisoriesJSON(t *testing.T, advs ...Advisory) []byte {
	t.Helper()
	dt, err := json.Marshal(map[string]any{"comment": "test", "advisories": advs})
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

func adv(pkg, id, fixed, sev string) Advisory {
	return Advisory{
		Distro: "debian", Release: "12", SourcePackage: pkg, VulnerabilityID: id, FixedVersion: fixed,
		Severity: sev, Title: pkg + ": " + id, Description: "description of " + id,
	}
}

// rpmAdv is an advisory of an RPM distro, named the way its detector looks
// packages up.
func rpmAdv(distro, release, pkg, id, fixed, sev string) Advisory {
	a := adv(pkg, id, fixed, sev)
	a.Distro, a.Release = distro, release
	if distros[distro].binary {
		a.Package, a.SourcePackage = pkg, ""
	}
	return a
}

func TestParse(t *testing.T) {
	ok := adv("xz-utils", "CVE-1", "5.4.1-1+deb12u2", "MEDIUM")
	with := func(f func(*Advisory)) Advisory { a := ok; f(&a); return a }
	tests := []struct {
		name    string
		dt      []byte
		wantErr string
	}{
		{"valid", advisoriesJSON(t, ok, adv("apt", "CVE-2", "2.6.2", "high"), adv("pam", "CVE-3", "1.5.2-6+deb12u3", "")), ""},
		{"not json", []byte("{"), "parsing advisories"},
		{"no advisories", []byte(`{"advisories": []}`), "no advisories"},
		{"missing package", advisoriesJSON(t, with(func(a *Advisory) { a.SourcePackage = "" })), "source_package is empty"},
		{"binary package", advisoriesJSON(t, with(func(a *Advisory) { a.Package = "liblzma5" })), "package is set: Trivy looks debian advisories up by source_package"},
		{"missing fix", advisoriesJSON(t, with(func(a *Advisory) { a.FixedVersion = " " })), "fixed_version is empty"},
		{"bad version", advisoriesJSON(t, with(func(a *Advisory) { a.FixedVersion = "1.0 beta" })), `fixed_version "1.0 beta"`},
		{"bad severity", advisoriesJSON(t, with(func(a *Advisory) { a.Severity = "urgent" })), `severity "urgent"`},
		{"other distro", advisoriesJSON(t, with(func(a *Advisory) { a.Distro = "ubuntu" })), `distro "ubuntu" is not supported`},
		{"no distro", advisoriesJSON(t, with(func(a *Advisory) { a.Distro = "" })), "distro is empty"},
		{"point release", advisoriesJSON(t, with(func(a *Advisory) { a.Release = "12.5" })), `release "12.5"`},
		{"arches", advisoriesJSON(t, with(func(a *Advisory) { a.Arches = []string{"amd64"} })), "does not filter this distro's advisories by arch"},
		{"duplicate", advisoriesJSON(t, ok, with(func(a *Advisory) { a.FixedVersion = "5.4.1-1+deb12u3" })), "duplicate of advisory 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkParse(t, tc.dt, tc.wantErr) })
	}
}

func TestParseRPM(t *testing.T) {
	with := func(a Advisory, f func(*Advisory)) Advisory { f(&a); return a }
	rocky := rpmAdv("rocky", "9", "darn-epoch", "DARN-3", "1:2.0-2", "LOW")
	azure := rpmAdv("azurelinux", "3.0", "darn-libfoo", "DARN-1", "1.0-2", "HIGH")
	suse := rpmAdv("opensuse-leap", "15.6", "darn-conf", "DARN-2", "1.0-2", "MEDIUM")
	tests := []struct {
		name    string
		dt      []byte
		wantErr string
	}{
		{"valid", advisoriesJSON(t, rocky, azure, suse, with(rocky, func(a *Advisory) { a.Release, a.Arches = "8", []string{"x86_64"} })), ""},
		{"duplicate despite arches", advisoriesJSON(t, rocky, with(rocky, func(a *Advisory) { a.Arches = []string{"x86_64"} })), "duplicate of advisory 0"},
		{"rocky point release", advisoriesJSON(t, with(rocky, func(a *Advisory) { a.Release = "9.4" })), `release "9.4" is not a Rocky Linux major version`},
		{"azure major only", advisoriesJSON(t, with(azure, func(a *Advisory) { a.Release = "3" })), `release "3" is not an Azure Linux major.minor`},
		{"suse major only", advisoriesJSON(t, with(suse, func(a *Advisory) { a.Release = "15" })), `release "15" is not an openSUSE Leap`},
		{"rocky source name", advisoriesJSON(t, with(rocky, func(a *Advisory) { a.SourcePackage = "darn-epoch" })), "source_package is set: Trivy looks rocky advisories up by package"},
		{"azure binary name", advisoriesJSON(t, with(azure, func(a *Advisory) { a.Package = "darn-libfoo" })), "package is set: Trivy looks azurelinux advisories up by source_package"},
		{"suse no name", advisoriesJSON(t, with(suse, func(a *Advisory) { a.Package = "" })), "package is empty"},
		{"no release", advisoriesJSON(t, with(azure, func(a *Advisory) { a.FixedVersion = "1.0" })), `fixed_version "1.0": not [epoch:]version-release`},
		{"bad epoch", advisoriesJSON(t, with(rocky, func(a *Advisory) { a.FixedVersion = "x:2.0-2" })), `fixed_version "x:2.0-2"`},
		{"dash in release", advisoriesJSON(t, with(suse, func(a *Advisory) { a.FixedVersion = "1.0-2-3" })), `fixed_version "1.0-2-3"`},
		{"space", advisoriesJSON(t, with(suse, func(a *Advisory) { a.FixedVersion = "1.0-2 " })), `fixed_version "1.0-2 "`},
		{"arches off rocky", advisoriesJSON(t, with(suse, func(a *Advisory) { a.Arches = []string{"x86_64"} })), "does not filter this distro's advisories by arch"},
		{"bad arch", advisoriesJSON(t, with(rocky, func(a *Advisory) { a.Arches = []string{"x86 64"} })), `arches: "x86 64"`},
		{"repeated arch", advisoriesJSON(t, with(rocky, func(a *Advisory) { a.Arches = []string{"noarch", "noarch"} })), `arches: "noarch"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkParse(t, tc.dt, tc.wantErr) })
	}
}

// checkParse parses dt, wanting an error containing wantErr, or none.
func checkParse(t *testing.T, dt []byte, wantErr string) {
	t.Helper()
	advs, err := Parse(dt)
	if wantErr == "" {
		if err != nil || len(advs) == 0 {
			t.Fatalf("Parse: %d advisories, %v", len(advs), err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("Parse: error %v, want it to contain %q", err, wantErr)
	}
}

// An advisory given by two files is refused, naming both.
func TestParseFiles(t *testing.T) {
	dir := t.TempDir()
	a := rpmAdv("rocky", "9", "darn-libfoo", "DARN-1", "1.0-2", "HIGH")
	write := func(name string, advs ...Advisory) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, advisoriesJSON(t, advs...), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, two := write("one.json", a), write("two.json", adv("apt", "CVE-2", "2.6.2", "HIGH"), a)
	if advs, err := ParseFiles(one, write("other.json", adv("apt", "CVE-2", "2.6.2", "HIGH"))); err != nil || len(advs) != 2 {
		t.Errorf("ParseFiles: %d advisories, %v; want 2", len(advs), err)
	}
	_, err := ParseFiles(one, two)
	if want := two + ": advisory 1 (rocky darn-libfoo DARN-1): duplicate of " + one + " advisory 0"; err == nil || err.Error() != want {
		t.Errorf("ParseFiles: %v, want %q", err, want)
	}
	if _, err := ParseFiles(); err == nil {
		t.Error("ParseFiles of no files succeeded")
	}
}

// parseBedAdvisories parses the test bed's advisories files.
func parseBedAdvisories(t *testing.T) []Advisory {
	t.Helper()
	files, err := filepath.Glob(bedAdvisories)
	if err != nil || len(files) < 2 {
		t.Fatalf("bed advisories %s: %q, %v", bedAdvisories, files, err)
	}
	advs, err := ParseFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	return advs
}

// The test bed's advisories files must stay loadable together, with
// advisories for every distro.
func TestParseBedAdvisories(t *testing.T) {
	byDistro := map[string]int{}
	for _, a := range parseBedAdvisories(t) {
		byDistro[a.Distro]++
	}
	for _, d := range slices.Sorted(maps.Keys(distros)) {
		if byDistro[d] == 0 {
			t.Errorf("no %s advisories in %s", d, bedAdvisories)
		}
	}
}

// Build's database reads back through trivy-db's Debian vulnsrc, the very
// code Trivy's Debian detector asks for a package's advisories.
func TestBuild(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	advs := []Advisory{
		adv("xz-utils", "GHSA-5qpq-xqfv-j9pg", "5.4.1-1+deb12u2", "MEDIUM"),
		adv("xz-utils", "CVE-2025-31115", "5.4.1-1", "LOW"),
		adv("apt", "CVE-2026-109518", "2.6.2", "HIGH"),
	}
	cache := t.TempDir()
	// A stale database in the way is replaced, not merged into.
	if err := Build(cache, []Advisory{adv("stale", "CVE-0", "1", "LOW")}, Options{Now: now, ValidFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := Build(cache, advs, Options{Now: now, ValidFor: 240 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	checkMetadata(t, cache, now, 240*time.Hour)

	if err := db.Init(Dir(cache)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	checkAdvisories(t, "xz-utils", map[string]string{"GHSA-5qpq-xqfv-j9pg": "5.4.1-1+deb12u2/MEDIUM", "CVE-2025-31115": "5.4.1-1/LOW"})
	checkAdvisories(t, "apt", map[string]string{"CVE-2026-109518": "2.6.2/HIGH"})
	checkAdvisories(t, "stale", map[string]string{})

	v, err := db.Config{}.GetVulnerability("CVE-2026-109518")
	if err != nil {
		t.Fatal(err)
	}
	// Trivy v0.74.0 still reads the deprecated Severity next to the
	// vendor's; the DB carries both.
	if v.Title != "apt: CVE-2026-109518" || v.Description != "description of CVE-2026-109518" ||
		v.Severity != "HIGH" || v.VendorSeverity[vulnerability.Debian] != dbtypes.SeverityHigh { //nolint:staticcheck // see above
		t.Errorf("vulnerability CVE-2026-109518 = %+v", v)
	}
	checkBuckets(t, []string{"data-source", "debian 12", "vulnerability"})
}

// checkMetadata checks what Trivy's `--skip-db-update` path validates
// (schema version) and the times it shows.
func checkMetadata(t *testing.T, cache string, now time.Time, validFor time.Duration) {
	t.Helper()
	md, err := metadata.NewClient(Dir(cache)).Get()
	if err != nil {
		t.Fatal(err)
	}
	want := metadata.Metadata{Version: db.SchemaVersion, UpdatedAt: now, DownloadedAt: now, NextUpdate: now.Add(validFor)}
	if md != want {
		t.Errorf("metadata = %+v, want %+v", md, want)
	}
	if _, err := os.Stat(filepath.Join(Dir(cache), "trivy.db")); err != nil {
		t.Error(err)
	}
}

// checkAdvisories compares a source package's advisories, as
// "fixed/severity" by ID, and checks their data source.
func checkAdvisories(t *testing.T, pkg string, want map[string]string) {
	t.Helper()
	got, err := debian.NewVulnSrc().Get(db.GetParams{Release: "12", PkgName: pkg})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, a := range got {
		seen[a.VulnerabilityID] = a.FixedVersion + "/" + a.Severity.String()
		if a.DataSource == nil || a.DataSource.ID != vulnerability.Debian {
			t.Errorf("%s %s: data source %+v, want debian", pkg, a.VulnerabilityID, a.DataSource)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%s: advisories %v, want %v", pkg, seen, want)
	}
	for id, w := range want {
		if seen[id] != w {
			t.Errorf("%s %s: %q, want %q", pkg, id, seen[id], w)
		}
	}
}

// checkBuckets checks the top-level buckets: the intermediate ones are
// gone, as in the published database.
func checkBuckets(t *testing.T, want []string) {
	t.Helper()
	var got []string
	err := db.Config{}.Connection().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			got = append(got, string(name))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("buckets %q, want %q", got, want)
	}
}
