package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
)

var installed = []nameVer{{"darn-libfoo", "1.0-r0"}, {"darn-tool", "2.3_rc1-r0"}, {"darn-other", "1.0-r0"}}

// installTo installs the table's installed packages with a layout.
func installTo(t *testing.T, layout, arch string) (root string, o repoOpts) {
	t.Helper()
	out, priv, o := testRepo(t)
	pub, err := loadPublic(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	root = t.TempDir()
	err = install(installOpts{
		Root: root, Repo: filepath.Join(out, goodRepo, "main"), Arch: arch, Layout: layout,
		Pub: pub, KeyName: o.Signer.name, Packages: installed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, o
}

// go-apk reads the installed database of both layouts: the packages, in
// name order, with their control digests, and every file it lists.
func TestInstallReadByGoAPK(t *testing.T) {
	for _, tc := range []struct{ layout, arch, db string }{
		{"alpine", "x86_64", "lib/apk/db/installed"},
		{"wolfi", "aarch64", "usr/lib/apk/db/installed"},
	} {
		t.Run(tc.layout, func(t *testing.T) {
			root, _ := installTo(t, tc.layout, tc.arch)
			f, err := os.Open(filepath.Join(root, tc.db))
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := goapk.ParseInstalled(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pkgs {
				got = append(got, p.Name+"="+p.Version+"/"+p.Arch)
				if len(p.Checksum) != 20 || len(p.Files) == 0 {
					t.Errorf("%s: checksum %x, %d files", p.Name, p.Checksum, len(p.Files))
				}
				for _, h := range p.Files {
					if _, err := os.Lstat(filepath.Join(root, h.Name)); err != nil {
						t.Errorf("%s: %v", p.Name, err)
					}
				}
			}
			want := "darn-libfoo=1.0-r0/" + tc.arch + " darn-other=1.0-r0/" + tc.arch + " darn-tool=2.3_rc1-r0/" + tc.arch
			if strings.Join(got, " ") != want {
				t.Fatalf("installed %v, want %s", got, want)
			}
		})
	}
}

// Every Z: is the SHA-1 of the file (of the target, for a symlink) on
// disk, a: and M: say the modes on disk, and world names the packages.
func TestInstalledLines(t *testing.T) {
	root, _ := installTo(t, "wolfi", "x86_64")
	if fi, err := os.Lstat(filepath.Join(root, "lib")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("lib is not a link: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(root, "lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, root, db)
	if w, _ := os.ReadFile(filepath.Join(root, "etc/apk/world")); string(w) != "darn-libfoo\ndarn-other\ndarn-tool\n" {
		t.Fatalf("world: %q", w)
	}
	if !bytes.Contains(db, []byte("\nF:var/lib/darn/tool\nM:0:0:700\n")) || !bytes.Contains(db, []byte("\nR:libfoo.so.1\na:0:0:777\n")) {
		t.Fatalf("no M: line for var/lib/darn/tool or a: line for the symlink:\n%s", db)
	}
}

// checkLines checks the F:/R:/a:/M:/Z: lines of an installed database
// against the files below root.
func checkLines(t *testing.T, root string, db []byte) {
	t.Helper()
	var dir, file string
	sc := bufio.NewScanner(bytes.NewReader(db))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		p := filepath.Join(root, dir, file)
		switch k {
		case "F":
			dir, file = v, ""
		case "R":
			file = v
		case "M", "a":
			fi, err := os.Lstat(p)
			if err != nil || v[strings.LastIndex(v, ":")+1:] != octal(fi.Mode()) {
				t.Errorf("%s: %s:%s does not match the mode on disk (%v)", path.Join(dir, file), k, v, err)
			}
		case "Z":
			data, err := os.ReadFile(p)
			if target, lerr := os.Readlink(p); lerr == nil {
				data, err = []byte(target), nil
			}
			if err != nil || v != "Q1"+base64.StdEncoding.EncodeToString(sha1Sum(data)) {
				t.Errorf("%s: Z:%s does not match the file (%v)", path.Join(dir, file), v, err)
			}
		}
	}
}

func octal(m os.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

// go-apk orders each package's versions as the table's roles say:
// installed < fix < newer; darn-tool's 2.3_rc1-r0 below 2.3-r0.
func TestTableVersionOrder(t *testing.T) {
	specs, err := readTable(testTable)
	if err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{"installed": 0, "repo": 1, "fix": 1, "newer": 2}
	for _, a := range specs {
		for _, b := range specs {
			ra, oka := rank[a.Role]
			rb, okb := rank[b.Role]
			if a.Name != b.Name || !oka || !okb || ra >= rb {
				continue
			}
			va, _ := goapk.ParseVersion(a.Version)
			vb, _ := goapk.ParseVersion(b.Version)
			if goapk.CompareVersions(va, vb) >= 0 {
				t.Errorf("%s: %s (%s) is not below %s (%s)", a.Name, a.Version, a.Role, b.Version, b.Role)
			}
		}
	}
}

// Table rows the tool refuses.
func TestTableErrors(t *testing.T) {
	for _, row := range []string{
		"darn-x\t1.0-r0\tinstalled\t-\t-",
		"libfoo\t1.0-r0\tinstalled\t-\t-\t-",
		"darn-x\t1.0\tinstalled\t-\t-\t-",
		"darn-x\t1.0-r0\tpending\t-\t-\t-",
		"darn-x\t1.0-r0\tinstalled\t-\t-\tsuid",
	} {
		if _, err := parseRow(row, 1); err == nil {
			t.Errorf("%q: no error", row)
		}
	}
}
