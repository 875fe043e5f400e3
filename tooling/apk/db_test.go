package apkinstall

import (
	"slices"
	"strings"
	"testing"
	"time"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"

	"github.com/darn-dev/darn/distros/apk"
)

// A record as apk writes one, read back by the family's parser with its
// files; the records not upgraded stay byte for byte.
func TestRecordRoundTrip(t *testing.T) {
	p := &goapk.Package{
		Name: "darn-libfoo", Version: "1.0-r2", Arch: "x86_64", Description: "darn test", License: "MIT",
		Origin: "darn-libfoo", Checksum: []byte{1, 2, 3}, Dependencies: []string{"darn-libbar>=2.0"},
		Size: 1234, InstalledSize: 4096, BuildTime: time.Unix(1767225600, 0),
	}
	files := []File{
		{Name: "usr", Dir: true, Mode: 0o755},
		{Name: "usr/lib", Dir: true, Mode: 0o755},
		{Name: "usr/lib/libfoo.so.1.0-r2", Mode: 0o755, Checksum: "Q1AAAA"},
		{Name: "etc/darn", Dir: true, UID: 0, GID: 42, Mode: 0o750},
		{Name: "etc/darn/foo.conf", Mode: 0o644, Checksum: "Q1BBBB"},
	}
	lines := record(p, files)
	wantTail := []string{"F:etc/darn", "M:0:42:0750", "R:foo.conf", "Z:Q1BBBB", "F:usr", "F:usr/lib", "R:libfoo.so.1.0-r2", "a:0:0:0755", "Z:Q1AAAA"}
	if tail := lines[len(lines)-len(wantTail):]; !slices.Equal(tail, wantTail) {
		t.Errorf("file lines %q, want %q", tail, wantTail)
	}
	old := "P:darn-other\nV:1.0-r0\nA:x86_64\nX:kept as is\nF:usr\nR:other\n"
	entries, err := apk.ParseDatabase([]byte(old + "\nP:darn-libfoo\nV:1.0-r0\n"))
	if err != nil {
		t.Fatal(err)
	}
	db := string(rewrite(entries, map[string][]string{"darn-libfoo": lines, "darn-libbar": {"P:darn-libbar", "V:2.0-r0"}}, []string{"darn-libfoo", "darn-libbar"}))
	if !strings.HasPrefix(db, old+"\n") {
		t.Errorf("the untouched record changed:\n%s", db)
	}
	back, err := apk.ParseDatabase([]byte(db))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range back {
		got = append(got, e.Name+" "+e.Version)
	}
	if want := []string{"darn-other 1.0-r0", "darn-libfoo 1.0-r2", "darn-libbar 2.0-r0"}; !slices.Equal(got, want) {
		t.Errorf("database lists %q, want %q", got, want)
	}
	if f := entryFiles(back[1]); f["usr/lib/libfoo.so.1.0-r2"] != "Q1AAAA" || f["etc/darn/foo.conf"] != "Q1BBBB" || len(f) != 2 {
		t.Errorf("entryFiles = %v", f)
	}
}
