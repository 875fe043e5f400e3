package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Roles of a table row, as integration/testdata/apk/packages.tsv explains
// them; the tool needs only to know them all, the bed and tests read them.
var roles = []string{"installed", "fix", "newer", "dep", "repo"}

// Flags add files to a package: conf its etc/darn/<short>.conf, link the
// symlink usr/lib/darn/<short>.so.1, private the directory
// var/lib/darn/<short> of mode 0700 (apk's M: line).
var knownFlags = []string{"conf", "link", "private"}

// apkVersion is apk's version grammar (numbers, a letter, _suffixes,
// ~hash, -rN), strict enough to keep odd table typos out.
var apkVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?-r[0-9]+$`)

// pkgName keeps the test packages in their own namespace, and their
// names usable as file stems.
var pkgName = regexp.MustCompile(`^darn-[a-z0-9]+$`)

// pkgSpec is one row of the package table: one package version, built
// once per architecture.
type pkgSpec struct {
	Name, Version, Role string
	Depends, Provides   []string
	Flags               []string
	Line                int
}

// readTable reads the package table: tab-separated name, version, role,
// depends, provides and flags ("-" for none; lists space- or
// comma-separated as noted in the file), "#" comments and blank lines.
func readTable(file string) ([]pkgSpec, error) {
	dt, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var specs []pkgSpec
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseRow(line, n)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if i := slices.IndexFunc(specs, func(o pkgSpec) bool { return o.Name == s.Name && o.Version == s.Version }); i >= 0 {
			return nil, fmt.Errorf("%s:%d: %s %s repeats line %d", file, n, s.Name, s.Version, specs[i].Line)
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%s: no packages", file)
	}
	return specs, sc.Err()
}

// parseRow checks one table row.
func parseRow(line string, n int) (pkgSpec, error) {
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return pkgSpec{}, fmt.Errorf("expected 6 tab-separated fields, got %d", len(f))
	}
	s := pkgSpec{
		Name: f[0], Version: f[1], Role: f[2], Line: n,
		Depends: list(f[3], " "), Provides: list(f[4], " "), Flags: list(f[5], ","),
	}
	if !pkgName.MatchString(s.Name) {
		return s, fmt.Errorf("name %q is not darn-<lowercase letters and digits>", s.Name)
	}
	if !apkVersion.MatchString(s.Version) {
		return s, fmt.Errorf("version %q is not an apk version with a -rN release", s.Version)
	}
	if !slices.Contains(roles, s.Role) {
		return s, fmt.Errorf("role %q is not one of %s", s.Role, strings.Join(roles, ", "))
	}
	for _, fl := range s.Flags {
		if !slices.Contains(knownFlags, fl) {
			return s, fmt.Errorf("flag %q is not one of %s", fl, strings.Join(knownFlags, ", "))
		}
	}
	return s, nil
}

// list splits a table field; "-" is the empty list.
func list(field, sep string) []string {
	if field == "-" || field == "" {
		return nil
	}
	return strings.FieldsFunc(field, func(r rune) bool { return strings.ContainsRune(sep, r) })
}

// short is the package's name without "darn-": its files' stem.
func (s pkgSpec) short() string { return strings.TrimPrefix(s.Name, "darn-") }

func (s pkgSpec) has(flag string) bool { return slices.Contains(s.Flags, flag) }

// fileName is the package's file name in a repository, as apk fetches it.
func (s pkgSpec) fileName() string { return s.Name + "-" + s.Version + ".apk" }

// entry is one file system object of a package's data: a directory,
// regular file or symlink, its path relative to the root, without a
// leading or trailing slash.
type entry struct {
	Path   string
	Mode   fs.FileMode // permission bits, plus fs.ModeDir or fs.ModeSymlink
	Data   []byte      // regular files
	Target string      // symlinks
}

// entries lists what a package version installs, directories first in
// each directory, sorted as abuild's tar of the package tree is. Every
// version writes its own usr/lib/darn/<short>.so.<version>, and a shared
// usr/share/darn/<short>.txt (and conf file) whose content names the
// version, so that an upgrade both removes files and rewrites them.
func (s pkgSpec) entries() []entry {
	sh, v := s.short(), s.Version
	files := []entry{
		{Path: "usr/lib/darn/" + sh + ".so." + v, Mode: 0o755, Data: libData(s)},
		{Path: "usr/share/darn/" + sh + ".txt", Mode: 0o644, Data: []byte(s.Name + " " + v + "\n")},
	}
	if s.has("conf") {
		files = append(files, entry{
			Path: "etc/darn/" + sh + ".conf", Mode: 0o644,
			Data: []byte(fmt.Sprintf("# %s %s configuration\nversion=%s\n", s.Name, v, v)),
		})
	}
	if s.has("link") {
		files = append(files, entry{Path: "usr/lib/darn/" + sh + ".so.1", Mode: fs.ModeSymlink | 0o777, Target: sh + ".so." + v})
	}
	dirs := map[string]fs.FileMode{}
	if s.has("private") {
		dirs["var/lib/darn/"+sh] = fs.ModeDir | 0o700
	}
	for _, f := range files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = fs.ModeDir | 0o755
		}
	}
	for p := range dirs {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = fs.ModeDir | 0o755
			}
		}
	}
	for p, m := range dirs {
		files = append(files, entry{Path: p, Mode: m})
	}
	slices.SortFunc(files, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
	return files
}

// libData is the content of a package's "library": its name and version,
// then lines of hex digits derived from them, which compress little, as
// code does (and so leave tamperPackage bytes to change in place).
func libData(s pkgSpec) []byte {
	b := []byte(fmt.Sprintf("%s %s: test library of the darn test bed\n", s.Name, s.Version))
	sum := sha256.Sum256(b)
	for range 8 {
		b = append(b, hex.EncodeToString(sum[:])+"\n"...)
		sum = sha256.Sum256(sum[:])
	}
	return b
}
