package deb

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The apt scripts are darn's riskiest code: these tests run their
// functions with the host's sh, dpkg-deb and coreutils on directories the
// test lays out, without apt and without a network.

// runSh runs script after the given script fragments with env added, and
// returns its output and exit code.
func runSh(t *testing.T, env []string, fragments []string, script string) (string, int) {
	t.Helper()
	for _, tool := range []string{"sh", "dpkg-deb", "dpkg", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	// The scripts run under set -eu (common.sh); refusals must not
	// depend on it, but the tests run them as they run.
	cmd := exec.Command("sh", "-c", "set -eu\n"+strings.Join(fragments, "\n")+"\n"+script)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// tree writes files (path -> content) under dir; a content starting with
// "->" makes a symlink to the rest.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(strings.TrimPrefix(content, "->"), full)
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		default:
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// buildDeb makes a .deb of package name at version holding files.
func buildDeb(t *testing.T, name, version string, files map[string]string) string {
	t.Helper()
	src := t.TempDir()
	tree(t, src, files)
	control := "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\nMaintainer: darn <darn@example.org>\nDescription: test\n"
	sums := ""
	for p, content := range files {
		if !strings.HasPrefix(content, "->") && !strings.HasSuffix(p, "/") {
			sums += md5hex(content) + "  " + p + "\n"
		}
	}
	tree(t, src, map[string]string{"DEBIAN/control": control, "DEBIAN/md5sums": sums})
	deb := filepath.Join(t.TempDir(), name+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// listTree returns every path under dir with its kind and content.
func listTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "->" + l
		case fi.IsDir():
			out[rel+"/"] = ""
		default:
			dt, _ := os.ReadFile(p)
			out[rel] = string(dt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unpackInto runs the tooling step's unpacking of deb into root, with the
// status.d database, and returns its output and exit code.
func unpackInto(t *testing.T, root, deb, name string) (string, int) {
	t.Helper()
	stage := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, stage).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	return runSh(t, []string{"ROOT=" + root, "STAGE=" + stage, "DEB=" + deb, "NAME=" + name, "TMPDIR=" + t.TempDir()},
		[]string{rootScript},
		`place_tree "$STAGE" "$ROOT"
db=$(resolve_in_root "$ROOT" var/lib/dpkg)
record_statusd "$ROOT" "$(resolve_in_root "$ROOT" "$db/status.d")" "$DEB" "$NAME"`)
}

// rewrite replaces repository URLs literally. Mirror values are
// validated before they reach a step; even so, the script must not give a
// backslash in one any meaning (awk -v would turn "\n" into a new line of
// sources, and "\040" into a space, and so into new apt options).
func TestRewriteIsLiteral(t *testing.T) {
	sources := t.TempDir() + "/debian.sources"
	tree(t, "/", map[string]string{strings.TrimPrefix(sources, "/"): "Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"})
	cases := map[string]struct{ mirrors, want string }{
		"mirror": {
			mirrors: "http://deb.example/debian http://127.0.0.1:8080/debian",
			want:    "URIs: http://127.0.0.1:8080/debian\n",
		},
		"escapes stay literal": {
			mirrors: `http://deb.example/debian http://m/debian\nSigned-By:\040Trusted:yes`,
			want:    `URIs: http://m/debian\nSigned-By:\040Trusted:yes` + "\n",
		},
		"longest first, each once": {
			mirrors: "http://deb.example/debian http://m/x\nhttp://deb.example http://n",
			want:    "URIs: http://m/x\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, code := runSh(t, []string{"DARN_REPO_MIRRORS=" + tc.mirrors, "F=" + sources}, []string{commonScript}, `rewrite "$F"`)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			lines := strings.Split(out, "\n")
			if len(lines) != 6 || lines[1]+"\n" != tc.want || !strings.HasPrefix(lines[4], "Signed-By: /usr/share/keyrings/") {
				t.Errorf("rewrite gave:\n%s\nwant line 2 %q and the other lines unchanged", out, tc.want)
			}
		})
	}
}

// pin picks, per package, the lowest version the sources offer at or
// above the minimum, from one apt-cache run for all the packages; a
// package without one fails the step (exit 100), or is left out with a
// warning under DARN_SKIP_MISSING=1.
func TestPinLowestAtOrAboveFix(t *testing.T) {
	bin, work := t.TempDir(), t.TempDir()
	calls := filepath.Join(work, "calls")
	// A stand-in for apt-cache madison, as apt prints it: one block per
	// name, in order; libc6-dev's line must not count for libc6.
	tree(t, bin, map[string]string{"apt-cache": `#!/bin/sh
echo "$*" >>"$CALLS"
for pkg; do
case $pkg in
libssl3) printf '%s\n' \
 '   libssl3 | 3.0.17-1~deb12u2 | http://deb.example/debian-security bookworm-security/main amd64 Packages' \
 '   libssl3 | 3.0.16-1~deb12u1 | http://deb.example/debian bookworm/main amd64 Packages' \
 '   libssl3 | 3.0.15-1~deb12u1 | http://deb.example/debian bookworm/main amd64 Packages' \
 '   libssl3 | 3.0.16-1~deb12u1 | http://deb.example/debian bookworm/main Sources' ;;
libc6) printf '%s\n' \
 '     libc6 | 2.36-9+deb12u10 | http://deb.example/debian bookworm/main amd64 Packages' \
 ' libc6-dev | 2.36-9+deb12u9 | http://deb.example/debian bookworm/main amd64 Packages' ;;
esac
done
`})
	run := func(env []string, args string) (string, int) {
		env = append(env, "PATH="+bin+":/usr/bin:/bin", "CALLS="+calls)
		return runSh(t, env, []string{commonScript}, "chmod +x "+bin+"/apt-cache\nmadison="+work+"/madison\npin "+args)
	}
	out, code := run(nil, "libssl3=3.0.16-1~deb12u1 libc6=2.36-9+deb12u9")
	if code != 0 || strings.TrimSpace(out) != "libssl3=3.0.16-1~deb12u1 libc6=2.36-9+deb12u10" {
		t.Errorf("pin = %q (exit %d)", out, code)
	}
	if got, _ := os.ReadFile(calls); !strings.HasSuffix(string(got), "madison libssl3 libc6\n") || strings.Count(string(got), "\n") != 1 {
		t.Errorf("apt-cache calls:\n%s\nwant one, madison libssl3 libc6 (with the step's options)", got)
	}
	out, code = run(nil, "libssl3=3.0.18-1 libc6=2.36-9+deb12u9")
	if code != 100 || !strings.Contains(out, "no version available from the apt sources for: libssl3>=3.0.18-1") {
		t.Errorf("pin of an unavailable version: exit %d, %q; want exit 100 naming libssl3", code, out)
	}
	out, code = run([]string{"DARN_SKIP_MISSING=1"}, "libssl3=3.0.18-1 libc6=2.36-9+deb12u9")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "libc6=2.36-9+deb12u10") || strings.Contains(out, "libssl3=") {
		t.Errorf("pin with DARN_SKIP_MISSING: exit %d, %q", code, out)
	}
}

// settle_times gives what a step changed times that do not depend on when
// it ran: the original's for identical files, links and directories the
// original has, DARN_EPOCH for the rest; so the layer's bytes repeat.
func TestSettleTimes(t *testing.T) {
	base, root := t.TempDir(), t.TempDir()
	files := map[string]string{"same": "x", "changed": "old", "link": "->same", "dir/": ""}
	tree(t, base, files)
	tree(t, root, files)
	old := time.Unix(1_500_000_000, 0)
	for _, d := range []string{base, root} {
		for _, p := range []string{"same", "changed", "dir"} {
			if err := os.Chtimes(filepath.Join(d, p), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	script := `stamp=$TMPDIR/stamp; : >"$stamp"; sleep 0.05
printf x >"$ROOT/same"; printf new >"$ROOT/changed"; printf n >"$ROOT/dir/new"; mkdir "$ROOT/newdir"
rm "$ROOT/link"; ln -s same "$ROOT/link"
settle_times "$ROOT" "$BASE"`
	out, code := runSh(t, []string{"ROOT=" + root, "BASE=" + base, "DARN_EPOCH=1000", "TMPDIR=" + t.TempDir()}, []string{commonScript}, script)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	baseLink, err := os.Lstat(filepath.Join(base, "link"))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]time.Time{
		"same": old, "changed": time.Unix(1000, 0), "dir": old, "dir/new": time.Unix(1000, 0),
		"newdir": time.Unix(1000, 0), "link": baseLink.ModTime(),
	} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %s, want %s", p, fi.ModTime(), want)
		}
	}
}
