package deb

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/darn-dev/darn/plan"
)

// FuzzParseStatus feeds ParseStatus databases derived from the corpus and
// testdata, and checks what the plan relies on: packages come sorted and
// unique, with names dpkg accepts and versions dpkg can read, and CRLF
// line ends read as LF ones.
func FuzzParseStatus(f *testing.F) {
	for _, db := range seedDatabases(f) {
		f.Add(db)
	}
	f.Fuzz(func(t *testing.T, db []byte) {
		pkgs, err := ParseStatus(db)
		crlf, errCRLF := ParseStatus(bytes.ReplaceAll(db, []byte("\n"), []byte("\r\n")))
		if errString(err) != errString(errCRLF) || !reflect.DeepEqual(pkgs, crlf) {
			t.Fatalf("with CRLF line ends: got %+v, %v\nwant %+v, %v", crlf, errCRLF, pkgs, err)
		}
		if err == nil {
			checkPackages(t, pkgs)
		}
	})
}

// FuzzParseStatusDir feeds ParseStatusDir two files, which may share a
// name, and checks its result as FuzzParseStatus does, plus that a file
// with a sidecar's name is skipped.
func FuzzParseStatusDir(f *testing.F) {
	dbs := seedDatabases(f)
	for i, db := range dbs {
		f.Add("a", db, "libc6.md5sums", []byte("d41d8cd98f00b204e9800998ecf8427e  lib/x\n"))
		f.Add("a", db, "b", dbs[(i+1)%len(dbs)])
	}
	f.Fuzz(func(t *testing.T, name1 string, db1 []byte, name2 string, db2 []byte) {
		files := map[string][]byte{name1: db1, name2: db2}
		pkgs, err := ParseStatusDir(files)
		if err != nil {
			return
		}
		checkPackages(t, pkgs)
		if isSidecar(name2) && name1 != name2 {
			alone, err := ParseStatusDir(map[string][]byte{name1: db1})
			if err != nil || !reflect.DeepEqual(alone, pkgs) {
				t.Fatalf("sidecar %q changed the result: %+v, %v; want %+v", name2, alone, err, pkgs)
			}
		}
	})
}

// checkPackages checks the invariants ParseStatus documents.
func checkPackages(t *testing.T, pkgs []plan.Package) {
	t.Helper()
	for i, p := range pkgs {
		if err := checkName(p.Name); err != nil || p.Name != strings.ToLower(p.Name) {
			t.Fatalf("package %q: name dpkg would not list (%v)", p.Name, err)
		}
		if err := checkDBVersion(p.Version); err != nil && (p.Version != "" || p.Installed) {
			t.Fatalf("package %s: version %q: %v", p.Name, p.Version, err)
		}
		if p.Source == "" || (p.SourceVersion == "" && p.Version != "") {
			t.Fatalf("package %s: source %q version %q", p.Name, p.Source, p.SourceVersion)
		}
		if p.Status != "" && len(strings.Split(p.Status, " ")) != 3 {
			t.Fatalf("package %s: status %q is not three words", p.Name, p.Status)
		}
		if i > 0 && cmp.Or(strings.Compare(pkgs[i-1].Name, p.Name), strings.Compare(pkgs[i-1].Arch, p.Arch)) >= 0 {
			t.Fatalf("packages out of order or repeated: %s:%s then %s:%s", pkgs[i-1].Name, pkgs[i-1].Arch, p.Name, p.Arch)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// seedDatabases returns the status databases of testdata and, when the
// shared corpus is beside the clone, every dpkg status file and status.d
// entry in it, cut to maxSeed, plus one small database of each kind of
// stanza.
func seedDatabases(f *testing.F) [][]byte {
	f.Helper()
	dbs := [][]byte{
		[]byte("Package: foo\nStatus: install ok installed\nArchitecture: amd64\nSource: bar (1:2.0-1)\nVersion: 1:2.0-1+b1\nDescription: x\n y\n .\n"),
		[]byte("Package: old\nStatus: deinstall ok config-files\nVersion: 0.1\n\nPackage: half\nStatus: install reinstreq half-installed\n"),
		[]byte("Package: distroless\nVersion: 1.0\nArchitecture: arm64\n"),
	}
	for _, pattern := range []string{
		filepath.Join("testdata", "pkgdb", "*", "var", "lib", "dpkg", "status"),
		filepath.Join(pkgdbCorpus, "*", "var", "lib", "dpkg", "status"),
		filepath.Join(pkgdbCorpus, "*", "var", "lib", "dpkg", "status.d", "*"),
	} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			dt, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			dbs = append(dbs, cutSeed(dt))
		}
	}
	return dbs
}

// maxSeed bounds the seeds: the fuzzer minimises every input that finds
// new code, and on a database of 100 KB that takes most of a short run.
// The corpus files are read whole by the conformance tests.
const maxSeed = 8 << 10

// cutSeed returns the stanzas of db that fit in maxSeed.
func cutSeed(db []byte) []byte {
	if len(db) <= maxSeed {
		return db
	}
	if i := bytes.LastIndex(db[:maxSeed], []byte("\n\n")); i > 0 {
		return db[:i+1]
	}
	return db[:maxSeed]
}
