package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
	"github.com/chainguard-dev/go-apk/pkg/expandapk"
	apksig "github.com/chainguard-dev/go-apk/pkg/signature"
)

// crossCheck reads what buildRepo wrote with go-apk, the apk
// implementation apko builds Wolfi and Chainguard images with, written
// apart from this tool: per architecture, the index's signature verifies
// with the public key and lists every package of the table, each package
// expands (file checksums), its control digest is the index's C:, its
// data digest its datahash and its signature verifies; and it refuses
// the tampered index, and the tampered package.
func crossCheck(ctx context.Context, out, pubFile, keyName string, arches []string, specs []pkgSpec, tampered nameVer) error {
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		return err
	}
	keys := map[string][]byte{keyName: pub}
	for _, arch := range arches {
		pkgs, err := checkIndex(ctx, filepath.Join(out, goodRepo, "main"), keys, arch, specs)
		if err != nil {
			return fmt.Errorf("go-apk: %s: %w", arch, err)
		}
		for _, p := range pkgs {
			if err := checkPackage(ctx, filepath.Join(out, goodRepo, "main", arch, p.Filename()), p, pub); err != nil {
				return fmt.Errorf("go-apk: %s: %s: %w", arch, p.Filename(), err)
			}
		}
		if _, err := goapk.GetRepositoryIndexes(ctx, []string{filepath.Join(out, tamperedIndexRepo, "main")}, keys, arch); err == nil {
			return fmt.Errorf("go-apk: %s: the tampered index's signature verifies", arch)
		}
		pkgs, err = checkIndex(ctx, filepath.Join(out, tamperedPkgRepo, "main"), keys, arch, specs)
		if err != nil {
			return fmt.Errorf("go-apk: %s: the tampered package's index: %w", arch, err)
		}
		i := slices.IndexFunc(pkgs, func(p *goapk.Package) bool { return p.Filename() == tampered.fileName() })
		if i < 0 {
			return fmt.Errorf("go-apk: %s: no %s in the index", arch, tampered.fileName())
		}
		if err := checkPackage(ctx, filepath.Join(out, tamperedPkgRepo, "main", arch, tampered.fileName()), pkgs[i], pub); err == nil {
			return fmt.Errorf("go-apk: %s: the tampered %s passes", arch, tampered.fileName())
		}
	}
	return nil
}

// checkIndex reads repo's index for arch, its signature checked, and
// checks that it lists exactly the table's packages for arch.
func checkIndex(ctx context.Context, repo string, keys map[string][]byte, arch string, specs []pkgSpec) ([]*goapk.Package, error) {
	idx, err := goapk.GetRepositoryIndexes(ctx, []string{repo}, keys, arch)
	if err != nil {
		return nil, err
	}
	if len(idx) != 1 {
		return nil, fmt.Errorf("%d indexes for %s", len(idx), repo)
	}
	var got, want []string
	var pkgs []*goapk.Package
	for _, p := range idx[0].Packages() {
		got = append(got, p.Name+"="+p.Version+"/"+p.Arch)
		pkgs = append(pkgs, p.Package)
	}
	for _, s := range specs {
		want = append(want, s.Name+"="+s.Version+"/"+arch)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return nil, fmt.Errorf("the index lists %v, want %v", got, want)
	}
	return pkgs, nil
}

// checkPackage checks one package against its index record.
func checkPackage(ctx context.Context, file string, want *goapk.Package, pub []byte) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	exp, err := expandapk.ExpandApk(ctx, bytes.NewReader(b), "")
	if err != nil {
		return err
	}
	defer exp.Close()
	if !bytes.Equal(exp.ControlHash, want.Checksum) {
		return fmt.Errorf("control digest %x, the index's C: %x", exp.ControlHash, want.Checksum)
	}
	p, err := goapk.ParsePackage(ctx, bytes.NewReader(b))
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(exp.PackageHash); got != p.DataHash {
		return fmt.Errorf("data digest %s, datahash %s", got, p.DataHash)
	}
	if p.Name != want.Name || p.Version != want.Version || p.Arch != want.Arch || p.Size != want.Size || p.InstalledSize != want.InstalledSize {
		return fmt.Errorf("the package is %s %s %s (%d bytes, %d installed), the index says %s %s %s (%d, %d)",
			p.Name, p.Version, p.Arch, p.Size, p.InstalledSize, want.Name, want.Version, want.Arch, want.Size, want.InstalledSize)
	}
	sig, err := os.ReadFile(exp.SignatureFile)
	if err != nil {
		return err
	}
	raw, err := gunzip(sig)
	if err != nil {
		return err
	}
	files, err := readTar(raw)
	if err != nil || len(files) != 1 {
		return errors.Join(errors.New("the signature segment is not one file"), err)
	}
	return apksig.RSAVerifySHA1Digest(exp.ControlHash, files[0].Data, pub)
}
