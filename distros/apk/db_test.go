package apk

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corpusDir holds real apk databases (../shared/corpus, beside the clone).
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus")

// manifestCounts reads the package count the corpus manifest gives for
// each apk case ("apk installed db; …; packages: N").
func manifestCounts(t *testing.T) map[string]int {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(corpusDir, "MANIFEST.md"))
	if err != nil {
		t.Skipf("no corpus: %v", err)
	}
	re := regexp.MustCompile("`pkgdb/([^/]+)/(?:usr/)?lib/apk/db/installed` .*apk installed db; .*packages: ([0-9]+)")
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(string(dt), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(out) < 5 {
		t.Fatalf("the corpus manifest lists only %d apk databases", len(out))
	}
	return out
}

// firstPackages are the first package of some corpus cases, read by eye.
var firstPackages = map[string]string{
	"trivy__alpine-apk":               "musl 1.1.14-r10",
	"vaultwarden__alpine-3.20":        "alpine-baselayout 3.6.5-r0",
	"syft__apk-extra-file-attributes": "openjdk8-jre 8.212.04-r0",
}

// Every apk database of the corpus reads with as many records as the
// manifest counts, the first package as read by eye; Trivy's record
// without a version is kept but is no package; the corrupt one is a clear
// error naming its line.
func TestParseDatabaseCorpus(t *testing.T) {
	for name, count := range manifestCounts(t) {
		t.Run(name, func(t *testing.T) {
			dt, err := os.ReadFile(filepath.Join(corpusDir, "pkgdb", name, "lib", "apk", "db", "installed"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDatabase(dt)
			if strings.Contains(name, "corrupt") {
				if err == nil || !strings.Contains(err.Error(), "line 1:") {
					t.Fatalf("corrupt database: got %v, want an error naming line 1", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != count {
				t.Errorf("read %d records, the manifest counts %d", len(got), count)
			}
			pkgs, want := Packages(got), count
			if name == "trivy__alpine-apk" {
				want-- // invalidPackageWithoutAVersion
			}
			if len(pkgs) != want {
				t.Errorf("%d packages, want %d", len(pkgs), want)
			}
			if first, ok := firstPackages[name]; ok && pkgs[0].Name+" "+pkgs[0].Version != first {
				t.Errorf("first package %s %s, want %s", pkgs[0].Name, pkgs[0].Version, first)
			}
		})
	}
}

func TestParseDatabaseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"P:a\nV:1.0-r0\n\nP:a\nV:1.1-r0\n", "line 4: package a is listed twice (first at line 1)"},
		{"P:a\nV:not a version\n", `line 1: package a: invalid apk version "not a version"`},
		{"P:a\nV:1.0-r0\nx\n", `line 3: "x" is not a KEY:value line`},
	} {
		_, err := ParseDatabase([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestPackages(t *testing.T) {
	entries, err := ParseDatabase([]byte("P:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\n\r\nP:musl\nV:1.2.5-r0\nA:aarch64\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := Packages(entries)
	if len(got) != 2 || got[0].Source != "openssl" || got[0].SourceVersion != "3.3.2-r0" || got[1].Source != "musl" || got[1].Arch != "aarch64" || !got[1].Installed {
		t.Errorf("Packages = %+v", got)
	}
}
