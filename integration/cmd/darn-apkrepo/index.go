package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// apkFile is a package split into its gzip members, with its .PKGINFO.
type apkFile struct {
	Sig, Control, Data []byte
	// Info holds .PKGINFO's values per key, in file order.
	Info map[string][]string
}

// parseAPK splits a package and reads its .PKGINFO; verify checks it.
func parseAPK(b []byte) (apkFile, error) {
	parts, err := splitGzip(b)
	if err != nil {
		return apkFile{}, err
	}
	if len(parts) != 3 {
		return apkFile{}, fmt.Errorf("%d gzip members, want 3 (signature, control, data)", len(parts))
	}
	a := apkFile{Sig: parts[0], Control: parts[1], Data: parts[2], Info: map[string][]string{}}
	raw, err := gunzip(a.Control)
	if err != nil {
		return a, fmt.Errorf("reading the control segment: %w", err)
	}
	files, err := readTar(raw)
	if err != nil {
		return a, fmt.Errorf("reading the control segment: %w", err)
	}
	for _, f := range files {
		if f.Hdr.Name != ".PKGINFO" {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(f.Data))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), " = ")
			if ok && !strings.HasPrefix(k, "#") {
				a.Info[k] = append(a.Info[k], v)
			}
		}
		return a, sc.Err()
	}
	return a, errors.New("no .PKGINFO in the control segment")
}

// get is a .PKGINFO value ("" when absent).
func (a apkFile) get(key string) string {
	if v := a.Info[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// identity is apk's name for the package: "Q1" and the base64 SHA-1 of
// its control segment's gzip bytes (C: in indexes and the database).
func (a apkFile) identity() string {
	return "Q1" + base64.StdEncoding.EncodeToString(sha1Sum(a.Control))
}

// verify checks what apk checks before it installs: the signature over
// the control segment by keyName, and the data segment against datahash.
func (a apkFile) verify(pub *rsa.PublicKey, keyName string) error {
	if err := verifySignature(a.Sig, a.Control, pub, keyName); err != nil {
		return err
	}
	sum := sha256.Sum256(a.Data)
	if got := hex.EncodeToString(sum[:]); got != a.get("datahash") {
		return fmt.Errorf("data segment SHA-256 %s, .PKGINFO says datahash %q", got, a.get("datahash"))
	}
	return nil
}

// indexLines is the package's record in an APKINDEX (and the first lines
// of its installed database record), in apk's field order; size is the
// .apk's size, I: the installed size .PKGINFO gives.
func (a apkFile) indexLines(size int) []string {
	lines := []string{"C:" + a.identity()}
	for _, f := range []struct{ k, key string }{
		{"P", "pkgname"},
		{"V", "pkgver"},
		{"A", "arch"},
		{"S", ""},
		{"I", "size"},
		{"T", "pkgdesc"},
		{"U", "url"},
		{"L", "license"},
		{"o", "origin"},
		{"m", "maintainer"},
		{"t", "builddate"},
	} {
		v := a.get(f.key)
		if f.k == "S" {
			v = fmt.Sprint(size)
		}
		lines = append(lines, f.k+":"+v)
	}
	if d := a.Info["depend"]; len(d) > 0 {
		lines = append(lines, "D:"+strings.Join(d, " "))
	}
	if p := a.Info["provides"]; len(p) > 0 {
		lines = append(lines, "p:"+strings.Join(p, " "))
	}
	return lines
}

// buildIndex makes a signed APKINDEX.tar.gz of the packages as `apk index`
// and abuild-sign do: a whole tar of DESCRIPTION and APKINDEX (a record
// per package, each ended by a blank line) in one gzip member, preceded by
// a signature segment over that member's bytes.
func buildIndex(pkgs [][]byte, desc string, sg signer, mtime time.Time) ([]byte, error) {
	var b strings.Builder
	for _, p := range pkgs {
		a, err := parseAPK(p)
		if err != nil {
			return nil, err
		}
		b.WriteString(strings.Join(a.indexLines(len(p)), "\n") + "\n\n")
	}
	return signIndex(desc, []byte(b.String()), sg, mtime)
}

// signIndex packs and signs an index's DESCRIPTION and APKINDEX.
func signIndex(desc string, index []byte, sg signer, mtime time.Time) ([]byte, error) {
	raw, err := tarBytes([]tarFile{
		regular("DESCRIPTION", 0o644, []byte(desc), mtime),
		regular("APKINDEX", 0o644, index, mtime),
	}, false)
	if err != nil {
		return nil, err
	}
	content, err := gzipBytes(raw)
	if err != nil {
		return nil, err
	}
	sig, err := sg.signatureSegment(content, mtime)
	if err != nil {
		return nil, err
	}
	return concat(sig, content), nil
}

// readIndex checks an APKINDEX.tar.gz's signature and returns its tar
// members (DESCRIPTION, APKINDEX).
func readIndex(b []byte, pub *rsa.PublicKey, keyName string) ([]tarFile, error) {
	parts, err := splitGzip(b)
	if err != nil {
		return nil, err
	}
	if len(parts) != 2 {
		return nil, fmt.Errorf("%d gzip members, want 2 (signature, index)", len(parts))
	}
	if err := verifySignature(parts[0], parts[1], pub, keyName); err != nil {
		return nil, err
	}
	raw, err := gunzip(parts[1])
	if err != nil {
		return nil, err
	}
	return readTar(raw)
}

// checkData reads a data segment's members, checking each regular
// file's content against its APK-TOOLS.checksum.SHA1 as apk does.
func checkData(member []byte) ([]tarFile, error) {
	raw, err := gunzip(member)
	if err != nil {
		return nil, fmt.Errorf("reading the data segment: %w", err)
	}
	files, err := readTar(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the data segment: %w", err)
	}
	for _, f := range files {
		if f.Hdr.Typeflag != tar.TypeReg {
			continue
		}
		want := f.Hdr.PAXRecords[checksumKey]
		if got := hex.EncodeToString(sha1Sum(f.Data)); got != want {
			return nil, fmt.Errorf("%s: SHA-1 %s, its %s says %q", f.Hdr.Name, got, checksumKey, want)
		}
	}
	return files, nil
}
