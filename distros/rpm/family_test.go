package rpm

import (
	"testing"

	"github.com/darn-dev/darn/distros"
)

func TestDetect(t *testing.T) {
	cases := map[string]struct {
		rel distros.Release
		ok  bool
	}{
		"rocky 9.4":          {distros.Release{ID: "rocky", VersionID: "9.4", IDLike: []string{"rhel", "centos", "fedora"}}, true},
		"ubi 9":              {distros.Release{ID: "rhel", VersionID: "9.6"}, true},
		"azure linux 3":      {distros.Release{ID: "azurelinux", VersionID: "3.0"}, true},
		"opensuse leap":      {distros.Release{ID: "opensuse-leap", VersionID: "15.6", IDLike: []string{"suse", "opensuse"}}, true},
		"derivative of rhel": {distros.Release{ID: "eurolinux", VersionID: "9", IDLike: []string{"rhel"}}, true},
		"debian":             {distros.Release{ID: "debian", VersionID: "12"}, false},
		"alpine":             {distros.Release{ID: "alpine", VersionID: "3.20.2"}, false},
	}
	for name, tc := range cases {
		if _, ok := (Family{}).Detect(t.Context(), tc.rel, nil); ok != tc.ok {
			t.Errorf("%s: Detect = %v, want %v", name, ok, tc.ok)
		}
	}
}

func TestFromReport(t *testing.T) {
	for _, tc := range []struct{ family, version, wantID string }{
		{"rocky", "9.4", "rocky"},
		{"redhat", "8.10", "rhel"},
		{"alma", "9.3", "almalinux"},
		{"oracle", "8", "ol"},
		{"amazon", "2023.5.20240916", "amzn"},
		{"cbl-mariner", "2.0", "mariner"},
		{"azurelinux", "3.0", "azurelinux"},
		{"suse linux enterprise server", "15.6", "sles"},
		{"opensuse.leap", "15.6", "opensuse-leap"},
		{"debian", "12", ""},
		{"rocky", "7", ""},
	} {
		rel, ok := Family{}.FromReport(tc.family, tc.version)
		if (tc.wantID == "") == ok || rel.ID != tc.wantID {
			t.Errorf("FromReport(%q, %q) = %+v, %v; want %q", tc.family, tc.version, rel, ok, tc.wantID)
		}
	}
}

func TestTooling(t *testing.T) {
	for _, tc := range []struct {
		rel  distros.Release
		want string
	}{
		{distros.Release{ID: "rocky", VersionID: "9.4"}, "docker.io/rockylinux/rockylinux:9"},
		{distros.Release{ID: "fedora", VersionID: "40"}, "docker.io/library/fedora:40"},
		{distros.Release{ID: "azurelinux", VersionID: "3.0"}, "mcr.microsoft.com/azurelinux/base/core:3.0"},
		{distros.Release{ID: "rocky", VersionID: "7"}, ""},
	} {
		got, ok := Family{}.Tooling(tc.rel)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Tooling(%+v) = %q, %v; want %q", tc.rel, got, ok, tc.want)
		}
	}
}

func TestPackageURL(t *testing.T) {
	rocky := distros.Release{ID: "rocky", VersionID: "9.4"}
	for _, tc := range []struct{ name, version, arch, want string }{
		{"openssl-libs", "1:3.0.7-27.el9", "x86_64", "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1"},
		{"tzdata", "2024a-1.el9", "noarch", "pkg:rpm/rocky/tzdata@2024a-1.el9?arch=noarch&distro=rocky-9.4"},
		{"bash", "0:5.1.8-9.el9", "", "pkg:rpm/rocky/bash@5.1.8-9.el9?distro=rocky-9.4"},
	} {
		if got := (Family{}).PackageURL(rocky, tc.name, tc.version, tc.arch); got != tc.want {
			t.Errorf("PackageURL(%s %s) = %s, want %s", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestVersionsCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0-1", "1.0-2", -1},
		{"1:1.0-1", "2.0-1", 1},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1.0^git1-1", "1.0-1", 1},
		{"1.10-1", "1.9-1", 1},
		{"2.0-1.el9", "2.0-1.el9", 0},
		{"0:1.0-1", "1.0-1", 0},
		{"1.0a-1", "1.0-1", 1},
	} {
		got, err := Versions{}.Compare(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1.0 -1", "x:1.0-1", "1.0-", "-1", "1.0-1-2", "1:2:3"} {
		if _, err := (Versions{}).Compare(bad, "1.0-1"); err == nil {
			t.Errorf("Compare(%q) must fail", bad)
		}
	}
}
