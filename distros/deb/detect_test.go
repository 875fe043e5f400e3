package deb_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
)

const (
	debian12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`
	ubuntu2204 = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
`
	mint213 = `NAME="Linux Mint"
VERSION="21.3 (Virginia)"
ID=linuxmint
ID_LIKE="ubuntu debian"
PRETTY_NAME="Linux Mint 21.3"
VERSION_ID="21.3"
VERSION_CODENAME=virginia
UBUNTU_CODENAME=jammy
`
	alpine = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.2\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"
)

// detect parses an os-release file and asks the family about it, as the
// patch core does; a file that does not parse is no release of it.
func detect(osRelease []byte) (distros.Release, bool) {
	rel, err := distros.ParseOSRelease(osRelease)
	if err != nil {
		return distros.Release{}, false
	}
	return deb.Family{}.Detect(context.Background(), rel, distros.DirFS("/nonexistent"))
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   distros.Release
		wantOK bool
	}{
		{"debian 12", debian12, distros.Release{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}, true},
		{"ubuntu 22.04", ubuntu2204, distros.Release{ID: "ubuntu", IDLike: []string{"debian"}, VersionID: "22.04", VersionCodename: "jammy", PrettyName: "Ubuntu 22.04.4 LTS"}, true},
		{"derivative by ID_LIKE", mint213, distros.Release{ID: "linuxmint", IDLike: []string{"ubuntu", "debian"}, VersionID: "21.3", VersionCodename: "virginia", PrettyName: "Linux Mint 21.3"}, true},
		{"raspbian", "ID=raspbian\nID_LIKE=debian\nVERSION_ID=\"11\"\n", distros.Release{ID: "raspbian", IDLike: []string{"debian"}, VersionID: "11"}, true},
		{"codename filled from table", "ID=debian\nVERSION_ID=\"10\"\n", distros.Release{ID: "debian", VersionID: "10", VersionCodename: "buster"}, true},
		{"debian sid has no version", "ID=debian\nVERSION_CODENAME=trixie\n", distros.Release{ID: "debian", VersionCodename: "trixie"}, true},
		{"old ubuntu is still the family", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"14.04\"\n", distros.Release{ID: "ubuntu", IDLike: []string{"debian"}, VersionID: "14.04"}, true},
		{"alpine", alpine, distros.Release{}, false},
		{"empty", "", distros.Release{}, false},
		{"unparseable", "ID=\"debian\n", distros.Release{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := detect([]byte(tc.in))
			if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestFromReport(t *testing.T) {
	tests := []struct {
		family, version string
		want            distros.Release
		wantOK          bool
	}{
		{"debian", "12.5", distros.Release{ID: "debian", VersionID: "12", VersionCodename: "bookworm"}, true},
		{"debian", "10.1", distros.Release{ID: "debian", VersionID: "10", VersionCodename: "buster"}, true},
		{"Debian", " 11 ", distros.Release{ID: "debian", VersionID: "11", VersionCodename: "bullseye"}, true},
		{"debian", "9.9", distros.Release{ID: "debian", VersionID: "9"}, true},
		{"debian", "trixie", distros.Release{ID: "debian", VersionID: "13", VersionCodename: "trixie"}, true},
		{"ubuntu", "22.04", distros.Release{ID: "ubuntu", VersionID: "22.04", VersionCodename: "jammy"}, true},
		{"ubuntu", "24.04.1", distros.Release{ID: "ubuntu", VersionID: "24.04", VersionCodename: "noble"}, true},
		{"ubuntu", "18.04 LTS", distros.Release{ID: "ubuntu", VersionID: "18.04", VersionCodename: "bionic"}, true},
		{"ubuntu", "16.04", distros.Release{ID: "ubuntu", VersionID: "16.04"}, true},
		{"debian", "trixie/sid", distros.Release{}, false},
		{"debian", "", distros.Release{}, false},
		{"ubuntu", "22", distros.Release{}, false},
		{"ubuntu", "jammy", distros.Release{}, false},
		{"alpine", "3.20.2", distros.Release{}, false},
		{"", "12", distros.Release{}, false},
	}
	for _, tc := range tests {
		got, ok := deb.Family{}.FromReport(tc.family, tc.version)
		if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FromReport(%q, %q) = %+v, %v; want %+v, %v", tc.family, tc.version, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestSuite(t *testing.T) {
	tests := []struct {
		r       distros.Release
		want    string
		wantErr string
	}{
		{r: distros.Release{ID: "debian", VersionID: "12"}, want: "bookworm"},
		{r: distros.Release{ID: "debian", VersionID: "13"}, want: "trixie"},
		{r: distros.Release{ID: "ubuntu", VersionID: "18.04"}, want: "bionic"},
		{r: distros.Release{ID: "ubuntu", VersionID: "24.04"}, want: "noble"},
		{r: distros.Release{ID: "linuxmint", VersionID: "21.3", VersionCodename: "virginia"}, want: "virginia"},
		{r: distros.Release{ID: "ubuntu", VersionID: "14.04"}, wantErr: "unsupported OS ubuntu 14.04"},
		{r: distros.Release{ID: "debian", VersionID: "9"}, wantErr: "unsupported OS debian 9"},
	}
	for _, tc := range tests {
		got, err := deb.Suite(tc.r)
		var ue *distros.UnsupportedError
		switch {
		case tc.wantErr != "" && (!errors.As(err, &ue) || err.Error() != tc.wantErr):
			t.Errorf("Suite(%+v) error = %v, want *UnsupportedError %q", tc.r, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("Suite(%+v) = %q, %v; want %q", tc.r, got, err, tc.want)
		}
	}
}

// TestDetectCorpus runs Detect on every corpus case's os-release, preferring
// /etc/os-release over /usr/lib/os-release as os-release(5) says. Every case
// with a file must have an entry here.
func TestDetectCorpus(t *testing.T) {
	want := map[string]string{
		"syft__image-dpkg":             "debian 12 bookworm",
		"viking-nginx__debian-11":      "debian 11 bullseye",
		"grype__alpine-match-coverage": "",
		"vaultwarden__alpine-3.20":     "",
		"viking-nginx__alpine-3.16":    "",
	}
	for _, dir := range caseDirs(t, corpusDir) {
		dt, ok := readOSRelease(t, dir)
		if !ok {
			continue
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			w, known := want[name]
			if !known {
				t.Fatalf("no expectation for corpus case %s; add one", name)
			}
			var got string
			if r, ok := detect(dt); ok {
				got = r.ID + " " + r.VersionID + " " + r.VersionCodename
			}
			if got != w {
				t.Errorf("Detect = %q, want %q", got, w)
			}
		})
	}
}

func readOSRelease(t *testing.T, dir string) ([]byte, bool) {
	t.Helper()
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		dt, err := os.ReadFile(filepath.Join(dir, p))
		if err == nil {
			return dt, true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return nil, false
}
