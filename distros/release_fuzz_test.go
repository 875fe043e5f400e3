package distros_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros"
)

// osReleaseCorpus holds the pkgdb cases of the shared corpus beside the
// clone, relative to this package's directory.
var osReleaseCorpus = filepath.Join("..", "..", "shared", "corpus", "pkgdb")

// FuzzParseOSRelease checks ParseOSRelease on os-release files derived
// from the corpus and the table tests: values are single lines, ID_LIKE
// holds words, CRLF line ends read as LF ones, and a release written back
// as os-release reads the same.
func FuzzParseOSRelease(f *testing.F) {
	for _, tc := range osReleaseCases() {
		f.Add([]byte(tc.in))
	}
	for _, pattern := range []string{"*/etc/os-release", "*/usr/lib/os-release"} {
		paths, _ := filepath.Glob(filepath.Join(osReleaseCorpus, pattern))
		for _, p := range paths {
			dt, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(dt)
		}
	}
	f.Fuzz(func(t *testing.T, dt []byte) {
		r, err := distros.ParseOSRelease(dt)
		crlf, errCRLF := distros.ParseOSRelease(bytes.ReplaceAll(dt, []byte("\n"), []byte("\r\n")))
		if fmt.Sprint(err) != fmt.Sprint(errCRLF) || !sameRelease(r, crlf) {
			t.Fatalf("with CRLF line ends: %+v, %v\nwant %+v, %v", crlf, errCRLF, r, err)
		}
		if err != nil {
			return
		}
		for _, v := range []string{r.ID, r.VersionID, r.VersionCodename, r.PrettyName} {
			if strings.Contains(v, "\n") {
				t.Fatalf("value %q spans lines", v)
			}
		}
		if slices.ContainsFunc(r.IDLike, func(w string) bool { return w == "" || len(strings.Fields(w)) != 1 }) {
			t.Fatalf("ID_LIKE %q holds an empty or blank word", r.IDLike)
		}
		back, err := distros.ParseOSRelease(formatOSRelease(r))
		if err != nil || !sameRelease(back, r) {
			t.Fatalf("%+v written back as\n%s\nreads %+v, %v", r, formatOSRelease(r), back, err)
		}
	})
}

// formatOSRelease writes r as an os-release file, single-quoting every
// value as a shell would.
func formatOSRelease(r distros.Release) []byte {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	fmt.Fprintf(&b, "ID=%s\nVERSION_ID=%s\nVERSION_CODENAME=%s\nPRETTY_NAME=%s\n",
		quote(r.ID), quote(r.VersionID), quote(r.VersionCodename), quote(r.PrettyName))
	if len(r.IDLike) > 0 {
		fmt.Fprintf(&b, "ID_LIKE=%s\n", quote(strings.Join(r.IDLike, " ")))
	}
	return []byte(b.String())
}

// sameRelease compares releases, taking an empty ID_LIKE as none.
func sameRelease(a, b distros.Release) bool {
	if len(a.IDLike) == 0 && len(b.IDLike) == 0 {
		a.IDLike, b.IDLike = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
