package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testTable = "../../testdata/apk/packages.tsv"

// testKey is a key pair made once for every test: 4096-bit keys take
// seconds on a small machine.
var testKey string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "darn-apkrepo-test")
	if err != nil {
		panic(err)
	}
	name, err := ensureKey(dir, time.Unix(0x6b139a6b, 0))
	if err == nil {
		testKey = filepath.Join(dir, strings.TrimSuffix(name, ".pub"))
	}
	code := 1
	if err == nil {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	if err != nil {
		panic(err)
	}
	os.Exit(code)
}

// testRepo builds the table's repository into a temporary directory and
// returns it with the private key's file.
func testRepo(t *testing.T) (out, priv string, o repoOpts) {
	t.Helper()
	dir := t.TempDir()
	priv = testKey
	var err error
	o = repoOpts{
		Out: filepath.Join(dir, "repo"), Arches: []string{"x86_64", "aarch64"}, Mtime: time.Unix(1767225600, 0).UTC(),
		TamperPkg: nameVer{"darn-libfoo", "1.0-r2"}, TamperIndex: nameVer{"darn-other", "1.1-r0"},
	}
	if o.Specs, err = readTable(testTable); err != nil {
		t.Fatal(err)
	}
	if o.Signer, err = loadSigner(priv); err != nil {
		t.Fatal(err)
	}
	if err := buildRepo(o); err != nil {
		t.Fatal(err)
	}
	return o.Out, priv, o
}

// go-apk reads the repository, and refuses the tampered copies.
func TestRepoCrossCheck(t *testing.T) {
	out, priv, o := testRepo(t)
	if err := crossCheck(t.Context(), out, priv+".pub", o.Signer.name, o.Arches, o.Specs, o.TamperPkg); err != nil {
		t.Fatal(err)
	}
}

// The same inputs give the same bytes, and a data segment written again
// from what was read is the one the package has: the tampered package
// differs only by the byte it changed.
func TestReproducible(t *testing.T) {
	_, _, o := testRepo(t)
	for _, s := range o.Specs {
		a, err := buildPackage(s, "x86_64", o.Signer, o.Mtime)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := buildPackage(s, "x86_64", o.Signer, o.Mtime)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s %s: two builds differ", s.Name, s.Version)
		}
		p, err := parseAPK(a)
		if err != nil {
			t.Fatal(err)
		}
		files, err := checkData(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tarBytes(files, false)
		if again, _ := gzipBytes(raw); !bytes.Equal(again, p.Data) {
			t.Fatalf("%s %s: the data segment written again differs", s.Name, s.Version)
		}
	}
}

// The tampered package keeps its signature, control segment and size;
// verify finds it out, and so does the data check.
func TestTamperedPackage(t *testing.T) {
	out, priv, o := testRepo(t)
	pub, err := loadPublic(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	name := o.TamperPkg.fileName()
	good, _ := os.ReadFile(filepath.Join(out, goodRepo, "main", "x86_64", name))
	bad, _ := os.ReadFile(filepath.Join(out, tamperedPkgRepo, "main", "x86_64", name))
	g, err := parseAPK(good)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseAPK(bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != len(bad) || !bytes.Equal(g.Sig, b.Sig) || !bytes.Equal(g.Control, b.Control) || bytes.Equal(g.Data, b.Data) {
		t.Fatal("want the same size, signature and control segment and another data segment")
	}
	if err := g.verify(pub, o.Signer.name); err != nil {
		t.Fatal(err)
	}
	if err := b.verify(pub, o.Signer.name); err == nil || !strings.Contains(err.Error(), "datahash") {
		t.Fatalf("verify: %v, want a datahash mismatch", err)
	}
	if _, err := checkData(b.Data); err == nil || !strings.Contains(err.Error(), "usr/lib/darn/libfoo.so.1.0-r2") {
		t.Fatalf("checkData: %v, want the library's checksum mismatch", err)
	}
}

// The tampered index fails its signature, and differs from the good one
// by the edited version only.
func TestTamperedIndex(t *testing.T) {
	out, priv, o := testRepo(t)
	pub, err := loadPublic(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(out, goodRepo, "main", "aarch64", indexName))
	bad, _ := os.ReadFile(filepath.Join(out, tamperedIndexRepo, "main", "aarch64", indexName))
	files, err := readIndex(good, pub, o.Signer.name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readIndex(bad, pub, o.Signer.name); err == nil {
		t.Fatal("the tampered index verifies")
	}
	i := slices.IndexFunc(files, func(f tarFile) bool { return f.Hdr.Name == "APKINDEX" })
	want := strings.Replace(string(files[i].Data), "P:darn-other\nV:1.1-r0\n", "P:darn-other\nV:1.1-r1\n", 1)
	parts, _ := splitGzip(bad)
	raw, _ := gunzip(parts[1])
	badFiles, _ := readTar(raw)
	if got := string(badFiles[i].Data); got != want {
		t.Fatalf("tampered APKINDEX:\n%s\nwant:\n%s", got, want)
	}
}
