package deb

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/darn-dev/darn/plan"
)

// TestParseStanzasLongFields reads a 600 KB database whose fields run over
// 100,000 continuation lines each and checks every joined value, so that
// a faster way of collecting the lines cannot lose or reorder one.
func TestParseStanzasLongFields(t *testing.T) {
	const pkgs, lines = 2, 100_000
	stanzas, err := parseStanzas(longStatus(pkgs, lines))
	if err != nil {
		t.Fatal(err)
	}
	if len(stanzas) != pkgs {
		t.Fatalf("got %d stanzas, want %d", len(stanzas), pkgs)
	}
	want := longDescription(lines)
	for i, s := range stanzas {
		if got := s.fields["description"]; got != want {
			t.Errorf("stanza %d: description has %d bytes, want %d", i, len(got), len(want))
		}
		if got := s.fields["version"]; got != fmt.Sprintf("1.0-%d", i) {
			t.Errorf("stanza %d: version %q after the long field", i, got)
		}
	}
}

// TestParseStanzasContinuations covers how continuation lines join: each
// is trimmed, a blank one adds an empty line, and a field without
// continuation keeps its value.
func TestParseStanzasContinuations(t *testing.T) {
	in := "Package: a\nDescription:  short \n  long \n \n\t.\r\nVersion: 1\n\nPackage: b\nConffiles:\n /etc/b 0123\n"
	want := []stanza{
		{line: 1, fields: map[string]string{"package": "a", "description": "short\nlong\n\n.", "version": "1"}},
		{line: 8, fields: map[string]string{"package": "b", "conffiles": "\n/etc/b 0123"}},
	}
	got, err := parseStanzas([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestParseStatusLarge checks the packages of the 600 KB database that
// BenchmarkParseStatus reads.
func TestParseStatusLarge(t *testing.T) {
	got, err := ParseStatus(longStatus(2, 100_000))
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Package{
		{Name: "pkg0000", Version: "1.0-0", Arch: "amd64", Source: "pkg0000", SourceVersion: "1.0-0", Status: "install ok installed", Installed: true},
		{Name: "pkg0001", Version: "1.0-1", Arch: "amd64", Source: "pkg0001", SourceVersion: "1.0-1", Status: "install ok installed", Installed: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestParseStatusDirLarge checks the packages of the tree that
// BenchmarkParseStatusDir reads.
func TestParseStatusDirLarge(t *testing.T) {
	const n = 200
	got, err := ParseStatusDir(longStatusDir(n, 1_000))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d packages, want %d", len(got), n)
	}
	for i, p := range got {
		if name := fmt.Sprintf("pkg%04d", i); p.Name != name || p.Version != "1.0-0" || !p.Installed {
			t.Errorf("package %d = %+v, want %s 1.0-0 installed", i, p, name)
		}
	}
}
