package rpm

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/darn-dev/darn/plan"
)

// ParseManifest reads container-manifest-2, the package list of Azure
// Linux and CBL-Mariner distroless images: one tab-separated line per
// package, NAME VERSION-RELEASE INSTALLTIME BUILDTIME VENDOR EPOCH SIZE
// ARCH EPOCHNUM SOURCERPM, EPOCH being "(none)" or a number (the output of
// rpm -qa --qf with those tags).
func ParseManifest(dt []byte) ([]plan.Package, error) {
	var pkgs []plan.Package
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		p, err := manifestLine(line)
		if err != nil {
			return nil, fmt.Errorf("parsing the container manifest: line %d: %w", n, err)
		}
		pkgs = append(pkgs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parsing the container manifest: %w", err)
	}
	return sortPackages(pkgs), nil
}

// manifestLine reads one package.
func manifestLine(line string) (plan.Package, error) {
	f := strings.Split(line, "\t")
	if len(f) != 10 {
		return plan.Package{}, fmt.Errorf("want 10 tab-separated fields, got %d", len(f))
	}
	name, vr, arch := f[0], f[1], f[7]
	if name == "" || vr == "" || !strings.Contains(vr, "-") {
		return plan.Package{}, fmt.Errorf("package %q: want NAME and VERSION-RELEASE", name)
	}
	version, release, _ := strings.Cut(vr, "-")
	epoch, err := manifestEpoch(f[8], f[5])
	if err != nil {
		return plan.Package{}, fmt.Errorf("package %s: %w", name, err)
	}
	p := toPackage(name, evr(epoch, version, release), arch, f[9])
	if err := checkVersion(p.Version); err != nil {
		return plan.Package{}, fmt.Errorf("package %s: %w", name, err)
	}
	return p, nil
}

// manifestEpoch reads a package's epoch from EPOCHNUM, as Trivy does:
// Azure Linux's image builder writes "(none)" in the EPOCH field of every
// package. EPOCH is read where EPOCHNUM says 0 and EPOCH has a number.
func manifestEpoch(epochNum, epoch string) (*int, error) {
	n, err := strconv.Atoi(epochNum)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("epoch number %q is not a number", epochNum)
	}
	if n == 0 && epoch != "(none)" && epoch != "" {
		if n, err = strconv.Atoi(epoch); err != nil || n < 0 {
			return nil, fmt.Errorf("epoch %q is not a number", epoch)
		}
	}
	if n == 0 {
		return nil, nil
	}
	return &n, nil
}

// sortPackages orders packages by name and architecture.
func sortPackages(pkgs []plan.Package) []plan.Package {
	slices.SortFunc(pkgs, func(a, b plan.Package) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Arch, b.Arch)
	})
	return pkgs
}
