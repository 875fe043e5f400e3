package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Repositories below repoOpts.Out, each with main/<arch>/ directories as
// an apk mirror has them (repositories file line: <url>/<name>/main).
const (
	goodRepo          = "darn"
	tamperedPkgRepo   = "darn-tampered-pkg"
	tamperedIndexRepo = "darn-tampered-index"
	indexName         = "APKINDEX.tar.gz"
)

// repoOpts says what buildRepo makes.
type repoOpts struct {
	Out    string
	Specs  []pkgSpec
	Arches []string
	Signer signer
	Mtime  time.Time
	// TamperPkg is the package whose file darn-tampered-pkg alters;
	// TamperIndex the index record whose version darn-tampered-index
	// edits after signing.
	TamperPkg, TamperIndex nameVer
}

// buildRepo writes, per architecture, every package of the table and a
// signed index into darn/main/<arch>, and the two tampered copies.
func buildRepo(o repoOpts) error {
	for _, arch := range o.Arches {
		if err := buildArch(o, arch); err != nil {
			return fmt.Errorf("%s: %w", arch, err)
		}
	}
	return nil
}

func buildArch(o repoOpts, arch string) error {
	files := map[string][]byte{}
	var pkgs [][]byte
	for _, s := range slices.SortedFunc(slices.Values(o.Specs), func(a, b pkgSpec) int { return strings.Compare(a.fileName(), b.fileName()) }) {
		b, err := buildPackage(s, arch, o.Signer, o.Mtime)
		if err != nil {
			return err
		}
		files[s.fileName()] = b
		pkgs = append(pkgs, b)
	}
	idx, err := buildIndex(pkgs, "darn test bed "+goodRepo+"/main "+arch, o.Signer, o.Mtime)
	if err != nil {
		return err
	}
	files[indexName] = idx
	if err := writeTree(filepath.Join(o.Out, goodRepo, "main", arch), files, nil); err != nil {
		return err
	}
	bad, ok := files[o.TamperPkg.fileName()]
	if !ok {
		return fmt.Errorf("no %s to tamper with", o.TamperPkg.fileName())
	}
	bad, err = tamperPackage(bad)
	if err != nil {
		return fmt.Errorf("tampering with %s: %w", o.TamperPkg.fileName(), err)
	}
	if err := writeTree(filepath.Join(o.Out, tamperedPkgRepo, "main", arch), files, map[string][]byte{o.TamperPkg.fileName(): bad}); err != nil {
		return err
	}
	if idx, err = tamperIndex(idx, o.TamperIndex); err != nil {
		return fmt.Errorf("tampering with the index: %w", err)
	}
	return writeTree(filepath.Join(o.Out, tamperedIndexRepo, "main", arch), files, map[string][]byte{indexName: idx})
}

// writeTree writes files (overrides taking precedence) into dir.
func writeTree(dir string, files, overrides map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if o, ok := overrides[name]; ok {
			b = o
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// tamperPackage changes one byte of one file in a package's data segment
// and compresses it again, keeping the signature and control segments:
// the tar and gzip stay well-formed, the index's C: and the signature
// still match, and only the file's APK-TOOLS.checksum.SHA1 and the
// datahash give it away. It picks the first byte whose change leaves the
// .apk's size as it was (the index's S: still matches too), when one of
// the first tries does.
func tamperPackage(b []byte) ([]byte, error) {
	a, err := parseAPK(b)
	if err != nil {
		return nil, err
	}
	files, err := checkData(a.Data)
	if err != nil {
		return nil, err
	}
	var first []byte
	for _, c := range tamperCandidates(files, 4096) {
		data, err := dataWith(files, c)
		if err != nil {
			return nil, err
		}
		if len(data) == len(a.Data) {
			return concat(a.Sig, a.Control, data), nil
		}
		if first == nil {
			first = data
		}
	}
	if first == nil {
		return nil, errors.New("no regular file to change")
	}
	return concat(a.Sig, a.Control, first), nil
}

// tamperAt is one candidate change: file index, byte offset, new value.
type tamperAt struct {
	file, off int
	val       byte
}

// tamperCandidates lists up to n single-byte changes, library files first
// (the bytes a tampered fix would plant), each byte with one of its three
// low bits flipped.
func tamperCandidates(files []tarFile, n int) []tamperAt {
	var libs, rest []tamperAt
	for i, f := range files {
		for off, c := range f.Data {
			for _, bit := range []byte{1, 2, 4} {
				t := tamperAt{file: i, off: off, val: c ^ bit}
				if strings.HasPrefix(f.Hdr.Name, "usr/lib/") {
					libs = append(libs, t)
				} else {
					rest = append(rest, t)
				}
			}
		}
	}
	all := append(libs, rest...)
	return all[:min(n, len(all))]
}

// dataWith rewrites a data segment with one byte changed and the headers
// (so the recorded checksum) as they were.
func dataWith(files []tarFile, t tamperAt) ([]byte, error) {
	out := slices.Clone(files)
	out[t.file].Data = slices.Clone(files[t.file].Data)
	out[t.file].Data[t.off] = t.val
	raw, err := tarBytes(out, false)
	if err != nil {
		return nil, err
	}
	return gzipBytes(raw)
}

// releaseSuffix is an apk version's -rN.
var releaseSuffix = regexp.MustCompile(`-r([0-9]+)$`)

// tamperIndex edits the version of the record of p in a signed index
// (its release bumped: 1.1-r0 becomes 1.1-r1, as long as before) and
// compresses the index again, keeping the signature made over the
// original: a client that checks the signature refuses it; one that
// does not would never notice, since the record is of a package no
// patch installs.
func tamperIndex(b []byte, p nameVer) ([]byte, error) {
	parts, err := splitGzip(b)
	if err != nil {
		return nil, err
	}
	if len(parts) != 2 {
		return nil, fmt.Errorf("%d gzip members, want 2", len(parts))
	}
	raw, err := gunzip(parts[1])
	if err != nil {
		return nil, err
	}
	files, err := readTar(raw)
	if err != nil {
		return nil, err
	}
	m := releaseSuffix.FindStringSubmatch(p.Version)
	if m == nil {
		return nil, fmt.Errorf("version %q has no -rN", p.Version)
	}
	n, _ := strconv.Atoi(m[1])
	edited := strings.TrimSuffix(p.Version, m[0]) + "-r" + strconv.Itoa(n+1)
	old := []byte("\nP:" + p.Name + "\nV:" + p.Version + "\n")
	i := slices.IndexFunc(files, func(f tarFile) bool { return f.Hdr.Name == "APKINDEX" })
	if i < 0 || !bytes.Contains(files[i].Data, old) {
		return nil, fmt.Errorf("no record of %s %s in the index", p.Name, p.Version)
	}
	files[i].Data = bytes.Replace(files[i].Data, old, []byte("\nP:"+p.Name+"\nV:"+edited+"\n"), 1)
	files[i].Hdr.Size = int64(len(files[i].Data))
	if raw, err = tarBytes(files, false); err != nil {
		return nil, err
	}
	content, err := gzipBytes(raw)
	if err != nil {
		return nil, err
	}
	return concat(parts[0], content), nil
}
