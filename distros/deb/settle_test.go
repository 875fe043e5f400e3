package deb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// settle_identical gives BASE's exact time (nanoseconds too) to what the
// step rewrote with BASE's content and the package's time, and nothing
// else: changed and new files, files the step did not touch, names it
// leaves out, and names an untrusted BASE lists twice or with a crafted
// time keep theirs.
func TestSettleIdentical(t *testing.T) {
	base, root, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	files := map[string]string{
		"usr/same": "x", "usr/changed": "old", "usr/link": "->same", "usr/relinked": "->same",
		"usr/dup": "d", "usr/untouched": "u", `usr/back\slash`: "b",
	}
	tree(t, base, files)
	tree(t, root, files)
	// Crafted names that print as records: a second ./usr/dup, and
	// ./usr/newlink with a time that is a path.
	tree(t, base, map[string]string{"z\nf\t5\t./usr/dup": "", "q\nl\t../../x\t./usr/newlink": "->same"})
	baseTime := time.Unix(1_500_000_000, 250_000_000)
	for p := range files {
		chtimes(t, filepath.Join(base, p), baseTime)
	}
	chtimes(t, filepath.Join(root, "usr/untouched"), time.Unix(1_400_000_000, 0))
	// The step: after the stamp, a dpkg-like rewrite of every file but
	// "untouched", each with the package's time.
	script := `stamp=$TMPDIR/stamp; : >"$stamp"; sleep 0.05
cd "$ROOT/usr"
for f in same dup 'back\slash'; do cp "$f" "$f.new"; mv "$f.new" "$f"; done
printf new >changed; printf n >new
rm link relinked; ln -s same link; ln -s dup relinked; ln -s same newlink
touch -h -m -d @1600000000 same dup 'back\slash' changed new link relinked newlink
settle_identical "$ROOT" "$BASE"`
	out, code := runSh(t, []string{"ROOT=" + root, "BASE=" + base, "TMPDIR=" + tmp}, []string{commonScript}, script)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	pkg := time.Unix(1_600_000_000, 0)
	baseLink, err := os.Lstat(filepath.Join(base, "usr/link"))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]time.Time{
		"same": baseTime, "link": baseLink.ModTime(), "changed": pkg, "new": pkg, "relinked": pkg,
		"untouched": time.Unix(1_400_000_000, 0), `back\slash`: pkg, "dup": pkg, "newlink": pkg,
	} {
		fi, err := os.Lstat(filepath.Join(root, "usr", p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %s, want %s", p, fi.ModTime(), want)
		}
	}
}

func chtimes(t *testing.T, p string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(p, at, at); err != nil && !os.IsNotExist(err) {
		// Links keep their own time (tree made them just now).
		if fi, lerr := os.Lstat(p); lerr != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatal(err)
		}
	}
}

// The update-all probe asks apt-cache once for every installed package and
// lists those whose candidate is newer: not the same version, not an older
// one, not "(none)", and a block headed NAME:ARCH counts for NAME.
func TestUpgradableOneQuery(t *testing.T) {
	bin, out := t.TempDir(), t.TempDir()
	calls := filepath.Join(out, "calls")
	tree(t, bin, map[string]string{
		"apt-get": "#!/bin/sh\nexit 0\n",
		"apt-cache": `#!/bin/sh
echo "$*" >>"$CALLS"
cat <<'POLICY'
libc6:
  Installed: 2.36-9+deb12u9
  Candidate: 2.36-9+deb12u10
  Version table:
     2.36-9+deb12u10 500
tar:
  Installed: 1.34
  Candidate: 1.34
gone:
  Installed: 1.0
  Candidate: (none)
older:
  Installed: 2.0
  Candidate: 1.0
multi:amd64:
  Installed: 1.0
  Candidate: 1.1
POLICY
`,
	})
	script := "chmod +x " + bin + "/apt-get " + bin + "/apt-cache\nset -- libc6=2.36-9+deb12u9 tar=1.34 gone=1.0 older=2.0 multi=1.0\n" + upgradableScript
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "CALLS=" + calls, "DARN_OUT=" + out}
	if msg, code := runSh(t, env, []string{commonScript}, script); code != 0 {
		t.Fatalf("exit %d:\n%s", code, msg)
	}
	got, err := os.ReadFile(filepath.Join(out, "upgradable"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "libc6 2.36-9+deb12u10\nmulti 1.1\n" {
		t.Errorf("upgradable:\n%s", got)
	}
	if c, _ := os.ReadFile(calls); strings.Count(string(c), "\n") != 1 || !strings.HasSuffix(string(c), "policy libc6 tar gone older multi\n") {
		t.Errorf("apt-cache calls:\n%s\nwant one: policy of every package", c)
	}
}
