package apkinstall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A root with the links images have (merged /usr) and the ones a hostile
// image plants: every path resolves inside the root.
func TestResolveStaysInRoot(t *testing.T) {
	dir := t.TempDir()
	r := Root{Dir: dir}
	for _, d := range []string{"usr/lib/apk/db", "etc/apk"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"lib":           "usr/lib",            // merged /usr, relative
		"etc/apk/keys":  "/usr/share/keys",    // absolute: inside the root
		"etc/escape":    "../../../../../tmp", // climbs above the root
		"etc/abs":       "/etc/passwd",        // the host's, were it followed outside
		"etc/loop":      "loop2",
		"etc/loop2":     "loop",
		"usr/lib/dbdir": "/lib/apk/db",
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	for in, want := range map[string]string{
		"/lib/apk/db/installed":    "usr/lib/apk/db/installed",
		"/etc/apk/keys/a.rsa.pub":  "usr/share/keys/a.rsa.pub",
		"/etc/escape/x":            "tmp/x",
		"/etc/abs":                 "etc/passwd",
		"/usr/lib/dbdir/installed": "usr/lib/apk/db/installed",
		"/../../etc/apk":           "etc/apk",
	} {
		got, err := r.Resolve(in)
		if err != nil || got != filepath.Join(dir, want) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, strings.TrimPrefix(got, dir), err, want)
		}
	}
	if _, err := r.Resolve("/etc/loop/x"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("a link loop: %v", err)
	}
	// The last element is kept as it is: a link there is replaced, never
	// written through.
	if got, err := r.ResolveParent("/lib/apk/db/../../../etc/abs"); err != nil || got != filepath.Join(dir, "etc/abs") {
		t.Errorf("ResolveParent = %q, %v", got, err)
	}
	if _, err := r.ResolveParent("/"); err == nil {
		t.Error("ResolveParent(/) must fail")
	}
}

func FuzzResolve(f *testing.F) {
	dir := f.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "usr/lib"), 0o755)
	_ = os.Symlink("usr/lib", filepath.Join(dir, "lib"))
	_ = os.Symlink("/../..", filepath.Join(dir, "up"))
	f.Add("/lib/apk/../../../x")
	f.Add("up/up/etc")
	f.Fuzz(func(t *testing.T, name string) {
		got, err := Root{Dir: dir}.Resolve(name)
		if err == nil && got != dir && !strings.HasPrefix(got, dir+string(filepath.Separator)) {
			t.Fatalf("Resolve(%q) = %q, outside %q", name, got, dir)
		}
	})
}
