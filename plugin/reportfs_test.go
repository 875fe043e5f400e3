package plugin

import (
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tonistiigi/fsutil"
)

// reportDir is a directory of reports beside what a report must not
// expose: a key, a file outside the directory reached by links, and
// subdirectories, one of them named like a report.
func reportDir(t *testing.T) (dir string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "reports")
	files := map[string]string{
		"reports/amd64.json":          `{"arch":"amd64"}`,
		"reports/arm64.json":          `{"arch":"arm64"}`,
		"reports/*.json":              `{"name":"star"}`,
		"reports/[ab].json":           `{"name":"class"}`,
		"reports/!x.json":             `{"name":"bang"}`,
		"reports/a.txt":               "not a report",
		"reports/id_rsa":              "SECRET KEY",
		"reports/sub/id_rsa":          "SECRET KEY",
		"reports/sub/nested.json":     `{"nested":true}`,
		"reports/dir.json/id_rsa":     "SECRET KEY",
		"reports/dir.json/inner.json": `{"inner":true}`,
		"secret.json":                 "SECRET BESIDE",
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"reports/key.json":     "id_rsa",
		"reports/outside.json": "../secret.json",
		"reports/abs.json":     filepath.Join(root, "secret.json"),
		"reports/up.json":      "..",
		"reports/link.json":    "amd64.json",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// walkFS returns every path of fsys with its content ("/" for a
// directory, "->" for a link), as BuildKit's file sync walks and opens it.
func walkFS(t *testing.T, fsys fsutil.FS) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := fsys.Walk(t.Context(), "", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			got[p] = "/"
		case e.Type()&fs.ModeSymlink != 0:
			got[p] = "->"
		default:
			got[p] = readFS(t, fsys, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func readFS(t *testing.T, fsys fsutil.FS, p string) string {
	t.Helper()
	rc, err := fsys.Open(p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer rc.Close()
	dt, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

// The builder gets the report files and nothing else of their directory:
// not the key beside them, not what a link points to, not a subdirectory.
func TestReportFS(t *testing.T) {
	dir := reportDir(t)
	all := map[string]string{
		"amd64.json": `{"arch":"amd64"}`, "arm64.json": `{"arch":"arm64"}`,
		"*.json": `{"name":"star"}`, "[ab].json": `{"name":"class"}`, "!x.json": `{"name":"bang"}`,
	}
	for _, tc := range []struct {
		report, file string
		want         []string
	}{
		{report: dir, file: ".", want: slices.Sorted(maps.Keys(all))},
		{report: filepath.Join(dir, "amd64.json"), file: "amd64.json", want: []string{"amd64.json"}},
		// Patterns name files literally: "*.json" is one file, not all.
		{report: filepath.Join(dir, "*.json"), file: "*.json", want: []string{"*.json"}},
		{report: filepath.Join(dir, "[ab].json"), file: "[ab].json", want: []string{"[ab].json"}},
		{report: filepath.Join(dir, "!x.json"), file: "!x.json", want: []string{"!x.json"}},
		// A link named as the report shares the file it points to.
		{report: filepath.Join(dir, "link.json"), file: "amd64.json", want: []string{"amd64.json"}},
	} {
		t.Run(filepath.Base(tc.report), func(t *testing.T) {
			fsys, file, err := reportFS(tc.report)
			if err != nil {
				t.Fatal(err)
			}
			if file != tc.file {
				t.Errorf("report option %q, want %q", file, tc.file)
			}
			got := walkFS(t, fsys)
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
				t.Errorf("shared %v, want %v", keys, tc.want)
			}
			for p, data := range got {
				if data != all[p] {
					t.Errorf("%s holds %q, want %q", p, data, all[p])
				}
			}
			for _, p := range []string{"id_rsa", "a.txt", "key.json", "outside.json", "abs.json", "up.json/secret.json", "sub/id_rsa", "dir.json/id_rsa", "dir.json/inner.json"} {
				if rc, err := fsys.Open(p); err == nil {
					rc.Close()
					t.Errorf("%s can be opened", p)
				}
			}
		})
	}
}

// BuildKit's file sync adds the frontend's follow paths on top of the
// plugin's filter; following a link must not reach past it either.
func TestReportFSFollowPaths(t *testing.T) {
	dir := reportDir(t)
	fsys, _, err := reportFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, follow := range []string{"key.json", "outside.json", "abs.json", "up.json/secret.json", "*.json", "."} {
		synced, err := fsutil.NewFilterFS(fsys, &fsutil.FilterOpt{FollowPaths: []string{follow}})
		if err != nil {
			t.Fatal(err)
		}
		for p, data := range walkFS(t, synced) {
			if strings.Contains(data, "SECRET") || data == "->" {
				t.Errorf("following %s shares %s: %q", follow, p, data)
			}
		}
	}
}

func TestReportFSErrors(t *testing.T) {
	dir := reportDir(t)
	empty := t.TempDir()
	if err := os.Mkdir(filepath.Join(empty, "only.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	spaced := filepath.Join(t.TempDir(), " r.json")
	if err := os.WriteFile(spaced, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for report, want := range map[string]string{
		filepath.Join(dir, "missing.json"): "resolving report path",
		empty:                              "no regular *.json file in it",
		spaced:                             `report file name " r.json"`,
		os.DevNull:                         "not a regular file or a directory",
	} {
		if _, _, err := reportFS(report); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reportFS(%s) = %v, want an error saying %q", report, err, want)
		}
	}
}
