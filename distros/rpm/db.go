package rpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	// go-rpmdb reads sqlite databases through the driver named "sqlite".
	_ "github.com/glebarez/go-sqlite"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// databasePaths are where rpm keeps its database, newest layout first:
// sqlite (rpm >= 4.16: EL9, Fedora, Azure Linux 3), ndb (SUSE), Berkeley
// DB (EL7/8, Amazon Linux 2). One file holds every package's header.
var databasePaths = []string{
	"/usr/lib/sysimage/rpm/rpmdb.sqlite",
	"/var/lib/rpm/rpmdb.sqlite",
	"/usr/lib/sysimage/rpm/Packages.db",
	"/var/lib/rpm/Packages.db",
	"/var/lib/rpm/Packages",
}

// manifestPath is the package list Azure Linux and CBL-Mariner distroless
// images carry instead of an rpm database (container-manifest-1 holds the
// same names without details).
const manifestPath = "/var/lib/rpmmanifest/container-manifest-2"

// Installed reads the image's rpm database, or its container manifest, and
// which package manager (if any) can patch it.
func (Family) Installed(ctx context.Context, root distros.FS) (distros.Installed, error) {
	pkgs, kind, err := readDatabase(ctx, root)
	if err != nil {
		return distros.Installed{}, err
	}
	m := manager(ctx, root)
	return distros.Installed{Packages: pkgs, PackageManager: m != "", Manager: m, Database: kind}, nil
}

// The kinds of package database an image has.
const (
	dbRPM      = "rpmdb"
	dbManifest = "manifest"
)

// readDatabase reads the first rpm database found, else the manifest.
func readDatabase(ctx context.Context, root distros.FS) ([]plan.Package, string, error) {
	dt, name, err := distros.ReadFirst(ctx, root, databasePaths...)
	if err == nil {
		pkgs, err := ParseDatabase(dt)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", name, err)
		}
		return pkgs, dbRPM, nil
	}
	manifest, merr := root.ReadFile(ctx, manifestPath)
	if merr != nil {
		return nil, "", fmt.Errorf("reading the rpm database: %w", errors.Join(err, merr))
	}
	pkgs, err := ParseManifest(manifest)
	return pkgs, dbManifest, err
}

// ParseDatabase reads an rpm database file in any of rpm's backends. The
// reader (go-rpmdb) opens a path, and sqlite needs a file: the bytes go to
// a private temporary file, removed when done.
func ParseDatabase(dt []byte) ([]plan.Package, error) {
	dir, err := os.MkdirTemp("", "darn-rpmdb-")
	if err != nil {
		return nil, fmt.Errorf("reading the rpm database: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "db")
	if err := os.WriteFile(file, dt, 0o600); err != nil {
		return nil, fmt.Errorf("reading the rpm database: %w", err)
	}
	db, err := rpmdb.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening the rpm database: %w", err)
	}
	defer db.Close()
	infos, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("listing the rpm database: %w", err)
	}
	pkgs := make([]plan.Package, 0, len(infos))
	for _, p := range infos {
		pkgs = append(pkgs, toPackage(p.Name, evr(p.Epoch, p.Version, p.Release), p.Arch, p.SourceRpm))
	}
	return sortPackages(pkgs), nil
}

// evr renders epoch:version-release, the epoch only when it is set and
// not 0, as scanners write installed versions.
func evr(epoch *int, version, release string) string {
	s := version
	if release != "" {
		s += "-" + release
	}
	if epoch != nil && *epoch > 0 {
		s = strconv.Itoa(*epoch) + ":" + s
	}
	return s
}

// toPackage makes a package; its source package is the name in its
// SOURCERPM (name-version-release.src.rpm).
func toPackage(name, version, arch, sourceRPM string) plan.Package {
	src, srcVersion := name, version
	if s := strings.TrimSuffix(sourceRPM, ".src.rpm"); s != sourceRPM {
		if i := strings.LastIndex(s, "-"); i > 0 {
			if j := strings.LastIndex(s[:i], "-"); j > 0 {
				src, srcVersion = s[:j], s[j+1:]
			}
		}
	}
	return plan.Package{Name: name, Version: version, Arch: arch, Source: src, SourceVersion: srcVersion, Status: "installed", Installed: true}
}

// Package managers an image patches itself with, in the order they are
// looked for, and what each needs besides a shell: rpm itself.
var managers = []struct{ name, path string }{
	{"dnf", "/usr/bin/dnf"},
	{"dnf", "/usr/bin/dnf5"},
	{"microdnf", "/usr/bin/microdnf"},
	{"tdnf", "/usr/bin/tdnf"},
	{"yum", "/usr/bin/yum"},
	{"zypper", "/usr/bin/zypper"},
}

// manager names the package manager the image can patch itself with; ""
// for images without one, a shell, or rpm.
func manager(ctx context.Context, root distros.FS) string {
	if !distros.StatAny(ctx, root, "/bin/sh", "/usr/bin/sh") || !distros.StatAny(ctx, root, "/usr/bin/rpm", "/bin/rpm") {
		return ""
	}
	for _, m := range managers {
		if _, err := root.Stat(ctx, m.path); err == nil {
			return m.name
		}
	}
	return ""
}
