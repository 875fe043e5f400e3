package rpm

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/darn-dev/darn/plan"
)

// corpusDir holds real rpm databases (../shared/corpus, beside the clone).
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus", "pkgdb")

// expected reads a case's expected-rpm-qa.psv: what rpm -qa listed,
// EPOCH¶NAME¶VERSION¶RELEASE¶ARCH¶SOURCERPM¶…, as name → package.
func expected(t *testing.T, file string) map[string]plan.Package {
	t.Helper()
	dt, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]plan.Package{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "¶")
		if len(f) < 6 {
			continue
		}
		var epoch *int
		if f[0] != "" && f[0] != "(none)" {
			e, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("%s: epoch %q", file, f[0])
			}
			epoch = &e
		}
		out[f[1]+"."+f[4]] = toPackage(f[1], evr(epoch, f[2], f[3]), f[4], f[5])
	}
	return out
}

// Every real database of the corpus — sqlite, Berkeley DB and ndb — reads
// as rpm -qa listed it.
func TestDatabaseConformance(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "go-rpmdb__*", "expected-rpm-qa.psv"))
	if len(files) == 0 {
		t.Skipf("no rpm cases in %s (the corpus is beside the clone in CI)", corpusDir)
	}
	for _, exp := range files {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var db string
			for _, p := range databasePaths {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					db = filepath.Join(dir, p)
					break
				}
			}
			dt, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := ParseDatabase(dt)
			if err != nil {
				t.Fatal(err)
			}
			want := expected(t, exp)
			if len(pkgs) != len(want) {
				t.Errorf("%d packages, rpm -qa listed %d", len(pkgs), len(want))
			}
			for _, p := range pkgs {
				if w, ok := want[p.Name+"."+p.Arch]; !ok || w != p {
					t.Errorf("%s: got %+v, want %+v", p.Name, p, w)
				}
			}
		})
	}
}

// The Azure Linux / CBL-Mariner container manifest of the corpus reads
// into packages with their epochs and source packages.
func TestManifestConformance(t *testing.T) {
	dt, err := os.ReadFile(filepath.Join(corpusDir, "syft__mariner-distroless-manifest", "var", "lib", "rpmmanifest", "container-manifest-2"))
	if err != nil {
		t.Skipf("no manifest case in the corpus: %v", err)
	}
	pkgs, err := ParseManifest(dt)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]plan.Package{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	if p := byName["vim"]; p.Version != "2:9.0-1.cm2" || p.Arch != "x86_64" || p.Source != "vim" {
		t.Errorf("vim = %+v", p)
	}
	if p := byName["openssl-libs"]; p.Version != "1.1.1k-15.cm2" || p.Source != "openssl" || p.SourceVersion != "1.1.1k-15.cm2" {
		t.Errorf("openssl-libs = %+v", p)
	}
}

func TestParseManifestErrors(t *testing.T) {
	for name, line := range map[string]string{
		"too few fields": "glibc\t2.35-2.cm2\n",
		"no release":     "glibc\t2.35\t1\t1\tv\t(none)\t1\tx86_64\t0\tglibc-2.35.src.rpm\n",
		"bad epoch":      "glibc\t2.35-2\t1\t1\tv\tx\t1\tx86_64\t0\tglibc-2.35-2.src.rpm\n",
		"bad epoch num":  "glibc\t2.35-2\t1\t1\tv\t(none)\t1\tx86_64\tx\tglibc-2.35-2.src.rpm\n",
	} {
		if _, err := ParseManifest([]byte(line)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// Azure Linux's builder writes "(none)" as every EPOCH: the epoch is
// EPOCHNUM's, as Trivy reads it; an EPOCH number counts where EPOCHNUM is 0.
func TestParseManifestEpoch(t *testing.T) {
	for line, want := range map[string]string{
		"e\t2.0-1\t1\t1\tv\t(none)\t1\tx86_64\t1\te-2.0-1.src.rpm": "1:2.0-1",
		"e\t2.0-1\t1\t1\tv\t3\t1\tx86_64\t3\te-2.0-1.src.rpm":      "3:2.0-1",
		"e\t2.0-1\t1\t1\tv\t2\t1\tx86_64\t0\te-2.0-1.src.rpm":      "2:2.0-1",
		"e\t2.0-1\t1\t1\tv\t(none)\t1\tx86_64\t0\te-2.0-1.src.rpm": "2.0-1",
	} {
		pkgs, err := ParseManifest([]byte(line + "\n"))
		if err != nil || len(pkgs) != 1 || pkgs[0].Version != want {
			t.Errorf("%q: got %+v, %v; want version %s", line, pkgs, err, want)
		}
	}
}

// A database that is none of rpm's formats is an error, not a panic.
func TestParseDatabaseGarbage(t *testing.T) {
	if _, err := ParseDatabase([]byte("not an rpm database, not at all")); err == nil {
		t.Error("want an error")
	}
}
