package deb

import (
	"crypto/md5"
	"encoding/hex"
	"maps"
	"strings"
	"testing"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// demoDeb is libdemo1 2.0: a library under /usr/lib/x86_64-linux-gnu and
// one under /lib (merged-/usr images keep /lib as a link), a copyright.
func demoDeb(t *testing.T) string {
	t.Helper()
	return buildDeb(t, "libdemo1", "2.0", map[string]string{
		"usr/lib/x86_64-linux-gnu/libdemo.so.1": "new library",
		"lib/x86_64-linux-gnu/libdemo-old.so.1": "new old-path library",
		"usr/share/doc/libdemo1/copyright":      "copyright",
	})
}

// An image's absolute symlinks lead inside the image, never into the
// tooling container: files land where the image itself sees them, the
// planted links to the outside are replaced rather than written through,
// and nothing outside the root changes.
func TestUnpackResolvesInsideRoot(t *testing.T) {
	outside := t.TempDir()
	tree(t, outside, map[string]string{"usr/local/lib/": "", "victim": "do not touch"})
	root := t.TempDir()
	tree(t, root, map[string]string{
		"usr/local/lib/libdemo.so.1":             "old library",
		"usr/lib/x86_64-linux-gnu":               "->/usr/local/lib",
		"lib":                                    "->usr/lib",
		"var/lib/dpkg/status.d/libdemo1":         "Package: libdemo1\nVersion: 1.0\nArchitecture: amd64\n",
		"var/lib/dpkg/status.d/libdemo1.md5sums": "->" + outside + "/victim",
		"usr/share/doc/libdemo1/copyright":       "->" + outside + "/victim",
	})
	before := listTree(t, outside)
	out, code := unpackInto(t, root, demoDeb(t), "libdemo1")
	if code != 0 {
		t.Fatalf("unpack failed (%d):\n%s", code, out)
	}
	if after := listTree(t, outside); !maps.Equal(before, after) {
		t.Errorf("files outside the root changed:\nbefore %v\nafter  %v", before, after)
	}
	got := listTree(t, root)
	want := map[string]string{
		"usr/local/lib/libdemo.so.1":             "new library",
		"usr/local/lib/libdemo-old.so.1":         "new old-path library",
		"usr/lib/x86_64-linux-gnu":               "->/usr/local/lib",
		"lib":                                    "->usr/lib",
		"usr/share/doc/libdemo1/copyright":       "copyright",
		"var/lib/dpkg/status.d/libdemo1.md5sums": md5hex("new library") + "  usr/lib/x86_64-linux-gnu/libdemo.so.1\n",
	}
	for p, w := range want {
		if p == "var/lib/dpkg/status.d/libdemo1.md5sums" {
			if !strings.Contains(got[p], w) || strings.HasPrefix(got[p], "->") {
				t.Errorf("%s = %q, want a regular file listing %q", p, got[p], w)
			}
			continue
		}
		if got[p] != w {
			t.Errorf("%s = %q, want %q", p, got[p], w)
		}
	}
	if st := got["var/lib/dpkg/status.d/libdemo1"]; !strings.Contains(st, "Version: 2.0") || strings.Contains(st, "Status:") {
		t.Errorf("status.d entry = %q, want version 2.0 without a Status line (the image's had none)", st)
	}
	for p := range got {
		if strings.HasSuffix(p, ".darn-new") {
			t.Errorf("temporary file left behind: %s", p)
		}
	}
}

// What cannot be resolved inside the root is refused, naming the path,
// and nothing is written outside it.
func TestUnpackRefusesUnresolvable(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"symlink loop": {
			files: map[string]string{"usr/lib/x86_64-linux-gnu": "->/usr/lib/loop", "usr/lib/loop": "->/usr/lib/x86_64-linux-gnu"},
			want:  "refusing /usr/lib/x86_64-linux-gnu: too many levels of symbolic links",
		},
		"link to nothing in the image": {
			files: map[string]string{"usr/lib/x86_64-linux-gnu": "->/elsewhere"},
			want:  "refusing /usr/lib/x86_64-linux-gnu: /usr/lib/x86_64-linux-gnu is a symlink to /elsewhere, and the image has no /",
		},
		"file where a directory is": {
			files: map[string]string{"usr/lib": "a file"},
			want:  "refusing /usr/lib: the image has a file where the package has a directory",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			outside := t.TempDir()
			tree(t, outside, map[string]string{"elsewhere/": ""})
			root := t.TempDir()
			tree(t, root, map[string]string{"var/lib/dpkg/status.d/libdemo1": "Package: libdemo1\nVersion: 1.0\n"})
			files := maps.Clone(tc.files)
			for p, c := range files {
				// Absolute links name a directory that exists on this
				// host, as it would in a tooling container.
				files[p] = strings.Replace(c, "->/elsewhere", "->"+outside+"/elsewhere", 1)
				if strings.Contains(files[p], outside) {
					tc.want = strings.Replace(tc.want, "/elsewhere", outside+"/elsewhere", 1)
				}
			}
			tree(t, root, files)
			before := listTree(t, outside)
			out, code := unpackInto(t, root, demoDeb(t), "libdemo1")
			if code != 102 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 102 and %q", code, out, tc.want)
			}
			if after := listTree(t, outside); !maps.Equal(before, after) {
				t.Errorf("files outside the root changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// A plain status file gets the package's stanza in place of the old one,
// Status second; the other stanzas stay as they were.
func TestUnpackPlainStatus(t *testing.T) {
	root := t.TempDir()
	status := "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n" +
		"Package: libdemo1\nStatus: install ok installed\nVersion: 1.0\n\n" +
		"Package: zlib1g\nStatus: install ok installed\nVersion: 1.2\n"
	tree(t, root, map[string]string{"usr/lib/x86_64-linux-gnu/": "", "var/lib/dpkg/status": status})
	deb := demoDeb(t)
	out, code := runSh(t, []string{"ROOT=" + root, "DEB=" + deb, "TMPDIR=" + t.TempDir()}, []string{rootScript},
		`record_status "$ROOT" var/lib/dpkg/status "$DEB" libdemo1`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	got := listTree(t, root)["var/lib/dpkg/status"]
	stanzas := strings.Split(strings.TrimSpace(got), "\n\n")
	if len(stanzas) != 3 || !strings.HasPrefix(stanzas[1], "Package: libdemo1\nStatus: install ok installed\nVersion: 2.0\n") ||
		stanzas[0] != "Package: base-files\nStatus: install ok installed\nVersion: 12.4" || !strings.HasPrefix(stanzas[2], "Package: zlib1g") {
		t.Errorf("status =\n%s", got)
	}
}

// resolve_in_root follows links the way the image does: absolute ones
// from the image's root, ".." never above it.
func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	tree(t, root, map[string]string{
		"usr/lib/x86_64-linux-gnu/": "", "usr/local/lib/": "", "etc/file": "x",
		"lib": "->usr/lib", "usr/lib/abs": "->/usr/local/lib", "usr/lib/up": "->../../..",
	})
	cases := map[string]string{
		"lib/x86_64-linux-gnu":    "usr/lib/x86_64-linux-gnu",
		"lib/abs/new":             "usr/local/lib/new",
		"usr/lib/up/etc":          "etc",
		"usr/lib/up/../../../etc": "etc",
		"./lib//abs/":             "usr/local/lib",
		"":                        "",
	}
	for in, want := range cases {
		out, code := runSh(t, []string{"ROOT=" + root, "P=" + in}, []string{rootScript}, `resolve_in_root "$ROOT" "$P"`)
		if code != 0 || strings.TrimSuffix(out, "\n") != want {
			t.Errorf("resolve_in_root %q = %q (exit %d), want %q", in, out, code, want)
		}
	}
}
