package deb

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// Installed reads dpkg's database from an image's root: the status file,
// or the per-package files in status.d that distroless images carry
// instead, and whether apt, dpkg and a shell are there to patch it.
func (Family) Installed(ctx context.Context, root distros.FS) (distros.Installed, error) {
	pkgs, err := readDatabase(ctx, root)
	if err != nil {
		return distros.Installed{}, err
	}
	return distros.Installed{Packages: pkgs, PackageManager: hasPackageManager(ctx, root)}, nil
}

// readDatabase reads the status file, else status.d.
func readDatabase(ctx context.Context, root distros.FS) ([]plan.Package, error) {
	status, err := root.ReadFile(ctx, statusPath)
	if err == nil {
		return ParseStatus(status)
	}
	files, dirErr := readStatusD(ctx, root)
	if dirErr != nil {
		return nil, fmt.Errorf("reading the dpkg database: %w", errors.Join(err, dirErr))
	}
	return ParseStatusDir(files)
}

// readStatusD reads status.d's entries, by file name: NAME files, or, in
// newer distroless builds, NAME/control. Checksum sidecars, the bulk of
// status.d, hold no entries and are not read.
func readStatusD(ctx context.Context, root distros.FS) (map[string][]byte, error) {
	entries, err := root.ReadDir(ctx, statusDPath)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".md5sums") {
			continue
		}
		p := path.Join(statusDPath, e.Name())
		if e.IsDir() {
			p = path.Join(p, "control")
		}
		if files[e.Name()], err = root.ReadFile(ctx, p); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return files, nil
}
