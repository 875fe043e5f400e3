package main

import (
	"archive/tar"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Layouts an image's root can have: where apk keeps its database, and
// which top-level directories are links into usr.
var layouts = map[string]struct {
	db    string
	links map[string]string
}{
	// Alpine: /lib/apk/db, no merged /usr.
	"alpine": {db: "lib/apk/db"},
	// Wolfi and Chainguard: merged /usr, the database in usr/lib/apk/db
	// (apk opens lib/apk/db through the lib link).
	"wolfi": {db: "usr/lib/apk/db", links: map[string]string{"bin": "usr/bin", "lib": "usr/lib", "sbin": "usr/sbin"}},
}

// nameVer names one package version.
type nameVer struct{ Name, Version string }

func (p nameVer) fileName() string { return p.Name + "-" + p.Version + ".apk" }

// installOpts says what install puts where.
type installOpts struct {
	Root, Repo, Arch, Layout string
	Pub                      *rsa.PublicKey
	KeyName                  string
	Packages                 []nameVer
}

// install puts packages from a repository directory (Repo/<arch>/*.apk)
// into an empty root the way `apk add --root` leaves it: each package
// verified (signature, datahash, file checksums), its files written with
// their modes, a record per package in the installed database (index
// fields, then F:/M: per directory and R:/a:/Z: per file), empty
// scripts.tar and triggers, etc/apk/world naming the packages and
// etc/apk/arch. Records go in name order.
func install(o installOpts) error {
	lay, ok := layouts[o.Layout]
	if !ok {
		return fmt.Errorf("unknown layout %q", o.Layout)
	}
	ents, err := os.ReadDir(o.Root)
	if err != nil {
		return fmt.Errorf("reading the install root: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("install root %s is not empty", o.Root)
	}
	root, err := os.OpenRoot(o.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, l := range slices.Sorted(maps.Keys(lay.links)) {
		if err := root.MkdirAll(lay.links[l], 0o755); err != nil {
			return err
		}
		if err := root.Symlink(lay.links[l], l); err != nil {
			return err
		}
	}
	pkgs := slices.SortedFunc(slices.Values(o.Packages), func(a, b nameVer) int { return strings.Compare(a.Name, b.Name) })
	var db strings.Builder
	for _, p := range pkgs {
		rec, err := installOne(root, o, p)
		if err != nil {
			return fmt.Errorf("installing %s %s: %w", p.Name, p.Version, err)
		}
		db.WriteString(strings.Join(rec, "\n") + "\n\n")
	}
	return writeState(root, lay.db, db.String(), pkgs, o.Arch)
}

// installOne verifies and unpacks one package and returns its installed
// database record.
func installOne(root *os.Root, o installOpts, p nameVer) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(o.Repo, o.Arch, p.fileName()))
	if err != nil {
		return nil, err
	}
	a, err := parseAPK(b)
	if err != nil {
		return nil, err
	}
	if err := a.verify(o.Pub, o.KeyName); err != nil {
		return nil, err
	}
	if got := a.get("pkgname") + " " + a.get("pkgver") + " " + a.get("arch"); got != p.Name+" "+p.Version+" "+o.Arch {
		return nil, fmt.Errorf("the package says it is %s", got)
	}
	files, err := checkData(a.Data)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := unpack(root, f); err != nil {
			return nil, err
		}
	}
	lines, err := fileLines(files)
	if err != nil {
		return nil, err
	}
	return append(a.indexLines(len(b)), lines...), nil
}

// unpack writes one member of a data segment below root.
func unpack(root *os.Root, f tarFile) error {
	name := strings.TrimSuffix(f.Hdr.Name, "/")
	if !filepath.IsLocal(name) || path.Clean(name) != name {
		return fmt.Errorf("unsafe path %q in the data segment", f.Hdr.Name)
	}
	mode := fs.FileMode(f.Hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch f.Hdr.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, mode); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeReg:
		if err := root.WriteFile(name, f.Data, mode); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeSymlink:
		return root.Symlink(f.Hdr.Linkname, name)
	}
	return fmt.Errorf("%s: tar type %q is not one the test packages use", name, f.Hdr.Typeflag)
}

// fileLines are a package's directory and file lines in the installed
// database, grouped per directory as apk keeps them: F:<dir>, M:uid:gid:mode
// when it is not root's 0755; R:<name>, a:uid:gid:mode when it is not
// root's 0644 (symlinks: 777), Z:Q1<base64 SHA-1 of the content, or of a
// symlink's target>.
func fileLines(files []tarFile) ([]string, error) {
	type dir struct{ head, files []string }
	var order []string
	dirs := map[string]*dir{}
	get := func(name string) *dir {
		if dirs[name] == nil {
			dirs[name] = &dir{head: []string{"F:" + name}}
			order = append(order, name)
		}
		return dirs[name]
	}
	for _, f := range files {
		name := strings.TrimSuffix(f.Hdr.Name, "/")
		if f.Hdr.Typeflag == tar.TypeDir {
			get(name).head = append(get(name).head, acl("M", f.Hdr, 0o755)...)
			continue
		}
		if path.Dir(name) == "." {
			return nil, fmt.Errorf("%s: a file at the top of the tree", name)
		}
		sum := f.Data
		if f.Hdr.Typeflag == tar.TypeSymlink {
			sum = []byte(f.Hdr.Linkname)
		}
		d := get(path.Dir(name))
		d.files = append(d.files, "R:"+path.Base(name))
		d.files = append(d.files, acl("a", f.Hdr, 0o644)...)
		d.files = append(d.files, "Z:Q1"+base64.StdEncoding.EncodeToString(sha1Sum(sum)))
	}
	var lines []string
	for _, n := range order {
		lines = append(append(lines, dirs[n].head...), dirs[n].files...)
	}
	return lines, nil
}

// acl is apk's owner and mode line for a directory (M) or file (a), left
// out when they are root's and the default mode.
func acl(key string, h *tar.Header, def int64) []string {
	mode := h.Mode & 0o7777
	if h.Uid == 0 && h.Gid == 0 && mode == def {
		return nil
	}
	return []string{fmt.Sprintf("%s:%d:%d:%o", key, h.Uid, h.Gid, mode)}
}

// writeState writes apk's database files and world below root.
func writeState(root *os.Root, dbDir, installed string, pkgs []nameVer, arch string) error {
	var world strings.Builder
	for _, p := range pkgs {
		world.WriteString(p.Name + "\n")
	}
	for _, d := range []string{dbDir, "etc/apk/keys"} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name, data string
		mode       fs.FileMode
	}{
		{dbDir + "/installed", installed, 0o644},
		{dbDir + "/scripts.tar", "", 0o644},
		{dbDir + "/triggers", "", 0o644},
		{dbDir + "/lock", "", 0o600},
		{"etc/apk/world", world.String(), 0o644},
		{"etc/apk/arch", arch + "\n", 0o644},
	} {
		if err := root.WriteFile(f.name, []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	return nil
}
