package distros_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/darn-dev/darn/distros"
)

type osReleaseCase struct {
	name string
	in   string
	want distros.Release
}

func osReleaseCases() []osReleaseCase {
	return []osReleaseCase{
		{
			name: "debian 12",
			in: `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian`,
			want: distros.Release{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		},
		{
			name: "comments blank lines and CRLF",
			in:   "# comment\r\n\r\n  # indented comment\r\nID=ubuntu\r\nVERSION_ID='22.04'\r\n",
			want: distros.Release{ID: "ubuntu", VersionID: "22.04"},
		},
		{
			name: "ID_LIKE list",
			in:   "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n",
			want: distros.Release{ID: "linuxmint", IDLike: []string{"ubuntu", "debian"}},
		},
		{
			name: "escapes",
			in:   `PRETTY_NAME="say \"hi\" \$HOME \\ \n"` + "\n" + `ID=a\ b` + "\n" + `VERSION_ID='x\y'`,
			want: distros.Release{ID: "a b", VersionID: `x\y`, PrettyName: `say "hi" $HOME \ \n`},
		},
		{
			name: "concatenated words and trailing comment",
			in:   `ID="deb"'ian'x # the id` + "\nVERSION_ID=  \n",
			want: distros.Release{ID: "debianx"},
		},
		{
			name: "later assignment wins and unknown keys are ignored",
			in:   "ID=alpine\nID=debian\nFOO_1=bar\n",
			want: distros.Release{ID: "debian"},
		},
		{name: "empty", in: "", want: distros.Release{}},
	}
}

func TestParseOSRelease(t *testing.T) {
	for _, tc := range osReleaseCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := distros.ParseOSRelease([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseOSReleaseErrors(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{in: "ID=debian\nnonsense\n", err: `parsing os-release: line 2: missing '=' in "nonsense"`},
		{in: `ID="debian`, err: "parsing os-release: line 1: value of ID: unterminated double quote"},
		{in: `ID='debian`, err: "parsing os-release: line 1: value of ID: unterminated single quote"},
		{in: `ID=debian linux`, err: `parsing os-release: line 1: value of ID: unquoted whitespace before "linux"`},
		{in: `1ID=x`, err: `parsing os-release: line 1: invalid variable name "1ID"`},
		{in: `=x`, err: `parsing os-release: line 1: invalid variable name ""`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := distros.ParseOSRelease([]byte(tc.in))
			if err == nil || err.Error() != tc.err {
				t.Errorf("got error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestReleaseIs(t *testing.T) {
	mint := distros.Release{ID: "linuxmint", IDLike: []string{"ubuntu", "debian"}}
	for family, want := range map[string]bool{"linuxmint": true, "ubuntu": true, "debian": true, "alpine": false, "": false} {
		if got := mint.Is(family); got != want {
			t.Errorf("Is(%q) = %v, want %v", family, got, want)
		}
	}
	if (distros.Release{}).Is("") {
		t.Error(`zero Release is "" family`)
	}
}

func TestUnsupportedError(t *testing.T) {
	for _, tc := range []struct {
		err  distros.UnsupportedError
		want string
	}{
		{distros.UnsupportedError{OS: "ubuntu", Version: "14.04"}, "unsupported OS ubuntu 14.04"},
		{distros.UnsupportedError{OS: "debian"}, "unsupported OS debian"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}

	wrapped := fmt.Errorf("planning: %w", &distros.UnsupportedError{OS: "ubuntu", Version: "14.04"})
	var ue *distros.UnsupportedError
	if !errors.As(wrapped, &ue) || ue.Version != "14.04" {
		t.Errorf("errors.As(%v) = %+v", wrapped, ue)
	}
}
