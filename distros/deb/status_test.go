package deb_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/plan"
)

// corpusDir is the shared package-database corpus, relative to this
// package's directory, where go test runs.
const corpusDir = "../../../shared/corpus/pkgdb"

const stanzaFoo = "Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n"

func TestParseStatus(t *testing.T) {
	foo := plan.Package{Name: "foo", Version: "1.0-1", Arch: "amd64", Source: "foo", SourceVersion: "1.0-1", Status: "install ok installed", Installed: true}
	bar := plan.Package{Name: "bar", Version: "2:3.0-1+b1", Arch: "all", Source: "barsrc", SourceVersion: "3.0-1", Status: "install ok installed", Installed: true}
	const stanzaBar = "Package: bar\nStatus: install ok installed\nArchitecture: all\nSource: barsrc (3.0-1)\nVersion: 2:3.0-1+b1\n"
	tests := []struct {
		name string
		in   string
		want []plan.Package
	}{
		{name: "empty", in: "", want: nil},
		{name: "only blank lines", in: "\n\n\n", want: nil},
		{name: "sorted by name", in: stanzaFoo + "\n" + stanzaBar, want: []plan.Package{bar, foo}},
		{name: "no final newline", in: strings.TrimSuffix(stanzaFoo, "\n"), want: []plan.Package{foo}},
		{name: "CRLF", in: strings.ReplaceAll(stanzaFoo+"\n"+stanzaBar, "\n", "\r\n"), want: []plan.Package{bar, foo}},
		{name: "extra blank lines", in: "\n\n" + stanzaFoo + "\n\n\n" + stanzaBar + "\n\n", want: []plan.Package{bar, foo}},
		{name: "continuation lines", in: stanzaFoo + "Description: short\n long\n .\n\tmore\n", want: []plan.Package{foo}},
		{name: "not-installed and status-less entries dropped", in: stanzaFoo + "\nPackage: gone\nStatus: purge ok not-installed\n\nPackage: nostatus\nVersion: 1\n", want: []plan.Package{foo}},
		{name: "source without version", in: "Package: foo\nStatus: install ok installed\nSource: foosrc\nVersion: 1:1.0-1\n", want: []plan.Package{{Name: "foo", Version: "1:1.0-1", Source: "foosrc", SourceVersion: "1:1.0-1", Status: "install ok installed", Installed: true}}},
		{name: "config-files is not installed", in: "Package: foo\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n", want: []plan.Package{{Name: "foo", Version: "1.0-1", Arch: "amd64", Source: "foo", SourceVersion: "1.0-1", Status: "deinstall ok config-files"}}},
		// dpkg-query 1.21.22 lists these, with warnings, and writes the
		// versions normalised (1:abc_1, 1.0-1-1); Version keeps them as written.
		{name: "names and versions dpkg accepts", in: "Package: Foo_Bar+1.x\nStatus: install ok installed\nVersion: +1:abc_1\n\nPackage: b\nStatus: install ok installed\nVersion: -0:1.0-1-1\n", want: []plan.Package{
			{Name: "b", Version: "-0:1.0-1-1", Source: "b", SourceVersion: "-0:1.0-1-1", Status: "install ok installed", Installed: true},
			{Name: "foo_bar+1.x", Version: "+1:abc_1", Source: "foo_bar+1.x", SourceVersion: "+1:abc_1", Status: "install ok installed", Installed: true},
		}},
		{name: "multi-arch instances", in: "Package: foo\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.0-1\n\n" + stanzaFoo, want: []plan.Package{foo, {Name: "foo", Version: "1.0-1", Arch: "i386", Source: "foo", SourceVersion: "1.0-1", Status: "install ok installed", Installed: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deb.ParseStatus([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseStatusErrors(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"continuation first", " foo\n" + stanzaFoo, "parsing dpkg status: line 1: continuation line outside a field"},
		{"no colon", "Package foo\n", `parsing dpkg status: line 1: field name must be followed by a colon: "Package foo"`},
		{"empty field name", ": foo\n", "parsing dpkg status: line 1: empty field name"},
		{"duplicate field", stanzaFoo + "Version: 2\n", "parsing dpkg status: line 5: duplicate Version field"},
		{"empty Package", "Package:\n\n" + stanzaFoo, "parsing dpkg status: stanza at line 1: missing or empty Package field"},
		{"missing Package", "Status: install ok installed\nVersion: 1\n", "parsing dpkg status: stanza at line 1: missing or empty Package field"},
		{"bad state", "Package: foo\nStatus: install ok bogus\n", `parsing dpkg status: stanza at line 1: package foo: status "install ok bogus": invalid word "bogus"`},
		{"bad flag", "Package: foo\nStatus: install installed\n", `parsing dpkg status: stanza at line 1: package foo: status "install installed": want three words`},
		{"missing Version", "Package: foo\nStatus: install ok unpacked\n", "parsing dpkg status: stanza at line 1: package foo: missing or empty Version field"},
		{"empty source version", "Package: foo\nStatus: install ok installed\nVersion: 1\nSource: bar ()\n", `parsing dpkg status: stanza at line 1: package foo: source "bar ()": empty version`},
		{"duplicate package", stanzaFoo + "\n" + stanzaFoo, "parsing dpkg status: duplicate entry for package foo:amd64"},
		{"errors joined", "Package:\n\nPackage: bar\nStatus: x\n", "parsing dpkg status: stanza at line 1: missing or empty Package field\n" +
			`stanza at line 3: package bar: status "x": want three words`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deb.ParseStatus([]byte(tc.in))
			if err == nil || err.Error() != tc.err {
				t.Errorf("got %+v, %v\nwant error %q", got, err, tc.err)
			}
		})
	}
}

// TestParseStatusDpkgSyntax covers package names and versions that dpkg
// refuses to read; dpkg-query 1.21.22 fails on each with the same words.
func TestParseStatusDpkgSyntax(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"name starting with a dash", "Package: -x\nStatus: install ok installed\nVersion: 1\n", `parsing dpkg status: stanza at line 1: package "-x": invalid package name: must start with an alphanumeric character`},
		{"name with a colon", "Package: a:b\nStatus: install ok installed\nVersion: 1\n", `parsing dpkg status: stanza at line 1: package "a:b": invalid package name: character ':' not allowed`},
		{"name on a continuation line", "Package:\n a\nStatus: install ok installed\nVersion: 1\n", `parsing dpkg status: stanza at line 1: package "\na": invalid package name: must start with an alphanumeric character`},
		{"version with a space", "Package: a\nStatus: install ok installed\nVersion: 1.0 1\n", `parsing dpkg status: stanza at line 1: package a: version "1.0 1": version string has embedded spaces`},
		{"version over two lines", "Package: a\nStatus: install ok installed\nVersion: 1.0\n foo\n", `parsing dpkg status: stanza at line 1: package a: version "1.0\nfoo": version string has embedded spaces`},
		{"empty revision", "Package: a\nStatus: install ok installed\nVersion: 1.0-\n", `parsing dpkg status: stanza at line 1: package a: version "1.0-": revision number is empty`},
		{"nothing after colon", "Package: a\nStatus: install ok installed\nVersion: 1:\n", `parsing dpkg status: stanza at line 1: package a: version "1:": nothing after colon in version number`},
		{"empty epoch", "Package: a\nStatus: install ok installed\nVersion: :1\n", `parsing dpkg status: stanza at line 1: package a: version ":1": epoch in version is empty`},
		{"epoch not a number", "Package: a\nStatus: install ok installed\nVersion: 1a:1\n", `parsing dpkg status: stanza at line 1: package a: version "1a:1": epoch in version is not number`},
		{"negative epoch", "Package: a\nStatus: install ok installed\nVersion: -1:1\n", `parsing dpkg status: stanza at line 1: package a: version "-1:1": epoch in version is negative`},
		{"epoch too big", "Package: a\nStatus: install ok installed\nVersion: 2147483648:1\n", `parsing dpkg status: stanza at line 1: package a: version "2147483648:1": epoch in version is too big`},
		{"empty upstream version", "Package: a\nStatus: install ok installed\nVersion: -1\n", `parsing dpkg status: stanza at line 1: package a: version "-1": version number is empty`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deb.ParseStatus([]byte(tc.in))
			if err == nil || err.Error() != tc.err {
				t.Errorf("got %+v, %v\nwant error %q", got, err, tc.err)
			}
		})
	}
}

func TestParseStatusDir(t *testing.T) {
	files := map[string][]byte{
		// Distroless writes the control stanza without a Status field.
		"libssl3":         []byte("Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: arm64\n"),
		"libssl3.md5sums": []byte("e11d70c96979a1328ae4e7e50542782b  usr/lib/aarch64-linux-gnu/libssl.so.3\n"),
		"libssl3.preinst": []byte("#!/bin/sh\nset -e\n"),
		// A dot in a package name is not a sidecar extension.
		"libpython3.11": []byte("Package: libpython3.11\nVersion: 3.11.2-6\nArchitecture: arm64\n"),
		"base":          []byte(stanzaFoo + "\nPackage: old\nStatus: deinstall ok config-files\nVersion: 0.1\n"),
	}
	got, err := deb.ParseStatusDir(files)
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Package{
		{Name: "foo", Version: "1.0-1", Arch: "amd64", Source: "foo", SourceVersion: "1.0-1", Status: "install ok installed", Installed: true},
		{Name: "libpython3.11", Version: "3.11.2-6", Arch: "arm64", Source: "libpython3.11", SourceVersion: "3.11.2-6", Installed: true},
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "arm64", Source: "openssl", SourceVersion: "3.0.15-1~deb12u1", Installed: true},
		{Name: "old", Version: "0.1", Source: "old", SourceVersion: "0.1", Status: "deinstall ok config-files"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseStatusDirErrors(t *testing.T) {
	_, err := deb.ParseStatusDir(map[string][]byte{
		"a":     []byte(stanzaFoo),
		"b":     []byte(stanzaFoo),
		"empty": []byte("Package:\n"),
		"stub":  []byte("Package: stub\n"),
	})
	const want = "parsing dpkg status.d: empty: stanza at line 1: missing or empty Package field\n" +
		"stub: stanza at line 1: package stub: missing or empty Version field"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %q", err, want)
	}
	_, err = deb.ParseStatusDir(map[string][]byte{"a": []byte(stanzaFoo), "b": []byte(stanzaFoo)})
	if err == nil || err.Error() != "parsing dpkg status.d: duplicate entry for package foo:amd64" {
		t.Errorf("got %v, want a duplicate entry error", err)
	}
}

// TestStatusConformance compares ParseStatus with dpkg-query -W on every
// case that has an expected-dpkg-query.tsv, in the shared corpus and in
// testdata/pkgdb.
func TestStatusConformance(t *testing.T) {
	for name, root := range map[string]string{"corpus": corpusDir, "testdata": "testdata/pkgdb"} {
		t.Run(name, func(t *testing.T) {
			n := 0
			for _, dir := range caseDirs(t, root) {
				tsv, err := os.ReadFile(filepath.Join(dir, "expected-dpkg-query.tsv"))
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				n++
				t.Run(filepath.Base(dir), func(t *testing.T) {
					if err != nil {
						t.Fatal(err)
					}
					pkgs, err := loadDB(t, dir)
					if err != nil {
						t.Fatal(err)
					}
					compareRows(t, dpkgQueryRows(t, pkgs), strings.SplitAfter(string(tsv), "\n"))
				})
			}
			if n == 0 {
				t.Errorf("no case with expected-dpkg-query.tsv in %s", root)
			}
		})
	}
}

// TestStatusCorpusWithoutList covers the corpus's dpkg databases that have
// no dpkg-query list: distroless status.d trees, syft's fixtures, and
// databases dpkg rejects. Every such case must have an entry here, so a
// new corpus case is not silently left untested.
func TestStatusCorpusWithoutList(t *testing.T) {
	want := corpusExpectations()
	for _, dir := range caseDirs(t, corpusDir) {
		name := filepath.Base(dir)
		if !hasDpkgDB(dir) || fileExists(filepath.Join(dir, "expected-dpkg-query.tsv")) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for corpus case %s; add one", name)
			}
			if got := summary(loadDB(t, dir)); !strings.HasPrefix(got, w) {
				t.Errorf("got\n%s\nwant\n%s", got, w)
			}
		})
	}
}

// corpusExpectations maps corpus case names to summary() output; for an
// error, its start is enough.
func corpusExpectations() map[string]string {
	libcSrc := " src=glibc@2.36-9+deb12u1"
	return map[string]string{
		"syft__distroless-deb": `libsqlite3-0:arm64=3.34.1-3 src=sqlite3@3.34.1-3 status="" installed=true`,
		"syft__dpkg-statusd-coreutils-relationships": "" +
			`coreutils:arm64=9.1-1 src=coreutils@9.1-1 status="install ok installed" installed=true` + "\n" +
			`gcc-12-base:arm64=12.2.0-14 src=gcc-12@12.2.0-14 status="install ok installed" installed=true` + "\n" +
			`libacl1:arm64=2.3.1-3 src=acl@2.3.1-3 status="install ok installed" installed=true` + "\n" +
			`libattr1:arm64=1:2.5.1-4 src=attr@1:2.5.1-4 status="install ok installed" installed=true` + "\n" +
			`libc6:arm64=2.36-9+deb12u1` + libcSrc + ` status="install ok installed" installed=true` + "\n" +
			`libgcc-s1:arm64=12.2.0-14 src=gcc-12@12.2.0-14 status="install ok installed" installed=true` + "\n" +
			`libgmp10:arm64=2:6.2.1+dfsg1-1.1 src=gmp@2:6.2.1+dfsg1-1.1 status="install ok installed" installed=true` + "\n" +
			`libpcre2-8-0:arm64=10.42-1 src=pcre2@10.42-1 status="install ok installed" installed=true` + "\n" +
			`libselinux1:arm64=3.4-1+b6 src=libselinux@3.4-1 status="install ok installed" installed=true`,
		"syft__dpkg-statusd-deinstall": "" +
			`linux-image-6.14.0-1012-aws:amd64=6.14.0-1012.12~24.04.1 src=linux-signed-aws-6.14@6.14.0-1012.12~24.04.1 status="install ok installed" installed=true` + "\n" +
			`linux-image-6.8.0-1029-aws:amd64=6.8.0-1029.31 src=linux-signed-aws@6.8.0-1029.31 status="deinstall ok config-files" installed=false`,
		"syft__dpkg-statusd-installed-size-4KB": `apt:amd64=1.8.2 src=apt-dev@1.8.2 status="install ok installed" installed=true`,
		"syft__dpkg-statusd-single":             `apt:amd64=1.8.2 src=apt-dev@1.8.2 status="install ok installed" installed=true`,
		// Broken on purpose; dpkg rejects them too.
		"syft__dpkg-statusd-corrupt": "error: parsing dpkg status.d: corrupt: line 5: field name must be followed by a colon",
		"syft__dpkg-statusd-empty":   "error: parsing dpkg status.d: empty: stanza at line 1: missing or empty Package field",
		"syft__dpkg-statusd-multiple": "error: parsing dpkg status.d: multiple: stanza at line 1: missing or empty Package field\n" +
			"stanza at line 3: package no-version: missing or empty Version field",
		"syft__image-dpkg": "error: parsing dpkg status: stanza at line 1: missing or empty Package field",
		// Syft's dependency-graph fixtures list bare "Package: x" stubs,
		// which in status.d would be installed packages without a version.
		"syft__dpkg-statusd-doc-examples":   "error: parsing dpkg status.d: doc-examples: stanza at line 25: package made-up-package-5: missing or empty Version field",
		"syft__dpkg-statusd-libpam-runtime": "error: parsing dpkg status.d: libpam-runtime: stanza at line 15: package debconf1: missing or empty Version field",
	}
}

func summary(pkgs []plan.Package, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	lines := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		lines = append(lines, fmt.Sprintf("%s:%s=%s src=%s@%s status=%q installed=%v",
			p.Name, p.Arch, p.Version, p.Source, p.SourceVersion, p.Status, p.Installed))
	}
	return strings.Join(lines, "\n")
}

// caseDirs lists the case folders under root, skipping the test when root
// is absent so the package still tests outside the darn workspace.
func caseDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("corpus folder %s not found (looked relative to %s); skipping", root, mustGetwd(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	return dirs
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func hasDpkgDB(dir string) bool {
	return fileExists(filepath.Join(dir, "var/lib/dpkg/status")) || fileExists(filepath.Join(dir, "var/lib/dpkg/status.d"))
}

// loadDB parses a case's dpkg database as the frontend would: the
// status.d/ directory of a distroless image when present, else the status
// file.
func loadDB(t *testing.T, dir string) ([]plan.Package, error) {
	t.Helper()
	statusD := filepath.Join(dir, "var/lib/dpkg/status.d")
	entries, err := os.ReadDir(statusD)
	if errors.Is(err, fs.ErrNotExist) {
		db, err := os.ReadFile(filepath.Join(dir, "var/lib/dpkg/status"))
		if err != nil {
			t.Fatal(err)
		}
		return deb.ParseStatus(db)
	}
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		dt, err := os.ReadFile(filepath.Join(statusD, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = dt
	}
	return deb.ParseStatusDir(files)
}

func compareRows(t *testing.T, got, want []string) {
	t.Helper()
	if want[len(want)-1] == "" {
		want = want[:len(want)-1]
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("row %d:\ngot  %q\nwant %q", i+1, g, w)
		}
	}
}

// dpkgQueryRows formats packages as the expected TSV rows and checks that
// Installed agrees with the state, which the TSV does not show.
func dpkgQueryRows(t *testing.T, pkgs []plan.Package) []string {
	t.Helper()
	rows := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		abbrev := statusAbbrev(t, p.Status)
		if installed := strings.ContainsRune("UFWti", rune(abbrev[1])); p.Installed != installed {
			t.Errorf("%s:%s in %q: Installed = %v, want %v", p.Name, p.Arch, p.Status, p.Installed, installed)
		}
		rows = append(rows, strings.Join([]string{p.Name, p.Version, p.Arch, abbrev, p.Status, p.Source, p.SourceVersion}, "\t")+"\n")
	}
	return rows
}

// statusAbbrev is dpkg-query's db:Status-Abbrev: one letter each for the
// selection and the state, then 'R' when reinstallation is required.
func statusAbbrev(t *testing.T, status string) string {
	t.Helper()
	letters := []map[string]string{
		{"unknown": "u", "install": "i", "hold": "h", "deinstall": "r", "purge": "p"},
		{
			"not-installed": "n", "config-files": "c", "half-installed": "H", "unpacked": "U",
			"half-configured": "F", "triggers-awaited": "W", "triggers-pending": "t", "installed": "i",
		},
		{"ok": " ", "reinstreq": "R"},
	}
	words := strings.Fields(status)
	if len(words) != 3 {
		t.Fatalf("status %q: want three words", status)
	}
	return letters[0][words[0]] + letters[1][words[2]] + letters[2][words[1]]
}
