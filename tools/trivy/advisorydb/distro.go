package advisorydb

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	apkversion "github.com/knqyf263/go-apk-version"
	debversion "github.com/knqyf263/go-deb-version"
	rpmversion "github.com/knqyf263/go-rpm-version"
)

// What Trivy v0.74.0 (pkg/detector/ospkg, with trivy-db's vulnsrc Get of
// the pinned trivy-db) needs to report an advisory, per distro:
//
// Every distro: the OS comes from etc/os-release (ID, VERSION_ID; Rocky
// also from etc/rocky-release). Before any detector runs, ospkg.Detector
// drops gpg-pubkey and every package whose Repository.Class is
// "third-party" (driver.DropThirdPartyPackages). The rpmdb analyzer
// (var/lib/rpm/rpmdb.sqlite, Packages, Packages.db) makes a package
// third-party unless its Vendor starts with one of its osVendors ("Rocky",
// "SUSE", "openSUSE", "Microsoft Corporation", "Red Hat", …; an empty
// Vendor only with "amzn" in the release), whatever the distro: a Vendor
// of "darn test" hides the package from every RPM detector. The
// container-manifest-2 analyzer sets no class, so Vendor does not matter
// there. An advisory's severity is the vulnerability's VendorSeverity for
// the data source of the platform bucket, so that source's ID must be the
// distro's own.
//
//   - debian: bucket "debian <major>" (osver.Major of debian_version), keyed
//     by source package; advisory severity is the package's severity.
//
//   - rocky: bucket "rocky <major>" (osver.Major of VERSION_ID, "9.4" → "9"),
//     keyed by binary package name (modular packages as
//     "module:stream::name"; SOURCERPM is not used), value
//     types.Advisories. With Entries, only entries whose Arches hold the
//     package's arch (rpmdb ARCH, "None" when empty) count; without Entries
//     the top-level FixedVersion counts for every arch. Source "rocky".
//
//   - azurelinux: bucket "Azure Linux <major.minor>" (osver.Minor, "3.0"),
//     keyed by source package name, split from SOURCERPM
//     ("darn-libfoo-1.0-1.src.rpm" → "darn-libfoo"), the installed version
//     being the source version with the binary's epoch; no arch. Read
//     from the rpmdb or, in distroless images, from
//     var/lib/rpmmanifest/container-manifest-2 (rpm -qa lines of 10
//     tab-separated fields: NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME,
//     VENDOR, (none), SIZE, ARCH, EPOCHNUM, SOURCERPM). Source "azure".
//
//   - opensuse-leap: bucket "openSUSE Leap <VERSION_ID>" ("15.6", as is),
//     keyed by binary package name; no arch. Source "suse-cvrf". Leap 15.6
//     is past its end of life in Trivy's table (2025-12-31): Trivy warns
//     and still reports.
//
//   - alpine: bucket "alpine <major.minor>" (osver.Minor of VERSION_ID or
//     etc/alpine-release, "3.20.3" → "3.20"; a release taken from
//     etc/apk/repositories wins over it, but only for URLs of the form
//     scheme://host/alpine/vX.Y/…, whose host has no port, which the test
//     bed's 127.0.0.1:PORT never matches), keyed by origin (the installed
//     database's o:, the source package; the package name when it has
//     none); no arch. Trivy's apk analyzer reads lib/apk/db/installed and
//     usr/lib/apk/db/installed. trivy-db's Alpine vulnsrc keeps only
//     CVE- and GHSA- IDs from the secdb, and stores no vulnerability
//     detail: the severity Trivy shows is the NVD's record of the ID, so
//     the detail goes under "nvd" here. Source "alpine". Alpine 3.20 is
//     past its end of life in Trivy's table (2026-04-01): Trivy warns
//     and still reports.
//
//   - wolfi: the one bucket "wolfi" for every image (os-release ID=wolfi;
//     VERSION_ID must be set for Trivy to detect the OS, its value is not
//     used), keyed by origin like alpine; only CVE- IDs; severity from
//     "nvd" too. Source "wolfi".
//
// The apk detectors compare versions with go-apk-version.
//
// The RPM detectors compare "[epoch:]version-release" with go-rpm-version;
// the installed side carries the rpmdb epoch, so a fix for an epoch 1
// package must say "1:" (an epoch-less fixed version is epoch 0, older
// than any epoch 1 version). Trivy wants no particular shape of
// vulnerability ID for these sources (RLSA, OVAL and CVRF IDs all pass).
type distro struct {
	// source is the data source of the platform bucket.
	source dbtypes.DataSource
	// release matches a release as the detector looks it up; releaseHint
	// says what that is.
	release     *regexp.Regexp
	releaseHint string
	// bucket names the platform bucket of a release.
	bucket func(release string) string
	// binary is set when the detector looks a package up by its binary
	// name (the advisory's "package") rather than its source name
	// ("source_package").
	binary bool
	// arches is set when an advisory may be limited to architectures.
	arches bool
	// noRelease is set when the distro has one bucket for every release:
	// an advisory gives none.
	noRelease bool
	// ids, when set, is what the distro's vulnsrc keeps of vulnerability
	// IDs (others it drops); idsHint says so.
	ids     *regexp.Regexp
	idsHint string
	// version checks a fixed version as the detector's comparator reads it.
	version func(string) error
	// put stores one advisory's package entry and vulnerability detail as
	// the distro's trivy-db vulnsrc does.
	put putFunc
}

var (
	majorRelease      = regexp.MustCompile(`^[1-9][0-9]*$`)
	majorMinorRelease = regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+$`)
)

// distros are the values of an advisory's "distro": the os-release IDs.
var distros = map[string]distro{
	"debian": {
		source:  dbtypes.DataSource{ID: vulnerability.Debian, Name: "darn test advisories (Debian security uploads)"},
		release: majorRelease, releaseHint: "a Debian major version such as 12",
		bucket:  func(r string) string { return bucket.NewDebian(r).Name() },
		version: debianVersion, put: putDebian,
	},
	"rocky": {
		source:  dbtypes.DataSource{ID: vulnerability.Rocky, Name: "darn test advisories (Rocky Linux updateinfo)"},
		release: majorRelease, releaseHint: "a Rocky Linux major version such as 9",
		bucket: func(r string) string { return bucket.NewRocky(r).Name() },
		binary: true, arches: true, version: rpmVersion, put: putRocky,
	},
	"azurelinux": {
		source:  dbtypes.DataSource{ID: vulnerability.AzureLinux, Name: "darn test advisories (Azure Linux OVAL)"},
		release: majorMinorRelease, releaseHint: "an Azure Linux major.minor version such as 3.0",
		bucket:  func(r string) string { return bucket.NewAzureLinux(r).Name() },
		version: rpmVersion, put: putAzure,
	},
	"alpine": {
		source:  dbtypes.DataSource{ID: vulnerability.Alpine, Name: "darn test advisories (Alpine secdb)"},
		release: majorMinorRelease, releaseHint: "an Alpine major.minor version such as 3.20",
		bucket: func(r string) string { return bucket.NewAlpine(r).Name() },
		ids:    regexp.MustCompile(`^(CVE|GHSA)-`), idsHint: "a CVE- or GHSA- ID (the Alpine vulnsrc drops others)",
		version: apkVersion, put: putSecDB,
	},
	"wolfi": {
		source:    dbtypes.DataSource{ID: vulnerability.Wolfi, Name: "darn test advisories (Wolfi secdb)"},
		noRelease: true,
		bucket:    func(string) string { return bucket.NewWolfi("").Name() },
		ids:       regexp.MustCompile(`^CVE-`), idsHint: "a CVE- ID (the Wolfi vulnsrc drops others)",
		version: apkVersion, put: putSecDB,
	},
	"opensuse-leap": {
		source:  dbtypes.DataSource{ID: vulnerability.SuseCVRF, Name: "darn test advisories (openSUSE CVRF)"},
		release: majorMinorRelease, releaseHint: "an openSUSE Leap VERSION_ID such as 15.6",
		bucket: func(r string) string { return bucket.NewOpenSUSE(r).Name() },
		binary: true, version: rpmVersion, put: putSUSE,
	},
}

// lookupDistro returns a distro by its advisories-file name.
func lookupDistro(name string) (distro, error) {
	d, ok := distros[name]
	if !ok {
		return distro{}, fmt.Errorf("distro %q is not supported (want one of %s)",
			name, strings.Join(slices.Sorted(maps.Keys(distros)), ", "))
	}
	return d, nil
}

// platform returns the bucket Trivy reads a release's advisories from.
func (d distro) platform(release string) (string, error) {
	if d.noRelease {
		if release != "" {
			return "", fmt.Errorf("release %q: Trivy reads one bucket for every release of this distro; give none", release)
		}
		return d.bucket(""), nil
	}
	if !d.release.MatchString(release) {
		return "", fmt.Errorf("release %q is not %s", release, d.releaseHint)
	}
	return d.bucket(release), nil
}

// debianVersion checks a Debian version.
func debianVersion(v string) error {
	_, err := debversion.NewVersion(v)
	return err
}

// apkEVR is apk-tools' version grammar (numbers, a letter, _suffixes,
// ~hash, -rN): go-apk-version's Valid, which Trivy uses, lets through
// strings such as "v1.0" that apk-tools refuses.
var apkEVR = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?$`)

// apkVersion checks an apk fixed version as apk-tools and go-apk-version
// read it. The package release -rN is required: every package has one,
// and a fix names the package's full version.
func apkVersion(v string) error {
	m := apkEVR.FindStringSubmatch(v)
	if m == nil || !apkversion.Valid(v) {
		return errors.New("not an apk version")
	}
	if m[len(m)-1] == "" {
		return errors.New("no -rN package release")
	}
	return nil
}

// checkID checks a vulnerability ID against what the distro's vulnsrc
// keeps.
func (d distro) checkID(id string) error {
	if d.ids != nil && !d.ids.MatchString(id) {
		return fmt.Errorf("vulnerability_id %q is not %s", id, d.idsHint)
	}
	return nil
}

// rpmEVR is "[epoch:]version-release" with rpm's version characters. The
// release is required: go-rpm-version ranks an empty release below every
// installed package's, so "1.0" would never be reported against 1.0-1.
var rpmEVR = regexp.MustCompile(`^(?:([0-9]+):)?([A-Za-z0-9._+~^]+)-([A-Za-z0-9._+~^]+)$`)

// rpmVersion checks an RPM fixed version, and that go-rpm-version, which
// never fails, reads the epoch, version and release the string means.
func rpmVersion(v string) error {
	m := rpmEVR.FindStringSubmatch(v)
	if m == nil {
		return errors.New("not [epoch:]version-release")
	}
	epoch := 0
	if m[1] != "" {
		var err error
		if epoch, err = strconv.Atoi(m[1]); err != nil {
			return fmt.Errorf("epoch: %w", err)
		}
	}
	p := rpmversion.NewVersion(v)
	if p.Epoch() != epoch || p.Version() != m[2] || p.Release() != m[3] {
		return fmt.Errorf("go-rpm-version reads it as epoch %d, version %q, release %q", p.Epoch(), p.Version(), p.Release())
	}
	return nil
}

// rpmArch matches an RPM architecture as Trivy gives it ("None" for none).
var rpmArch = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// checkArches checks an advisory's arches: only distros whose detector
// filters by arch take them.
func (d distro) checkArches(arches []string) error {
	if len(arches) == 0 {
		return nil
	}
	if !d.arches {
		return errors.New("arches: Trivy does not filter this distro's advisories by arch")
	}
	for i, a := range arches {
		if !rpmArch.MatchString(a) || slices.Contains(arches[:i], a) {
			return fmt.Errorf("arches: %q is not an architecture or is repeated", a)
		}
	}
	return nil
}
