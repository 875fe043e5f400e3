package advisorydb

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
)

// Advisory is one fixed vulnerability of one package in one release, as an
// advisories file lists it.
type Advisory struct {
	// Distro is the os-release ID: debian, rocky, azurelinux,
	// opensuse-leap, alpine or wolfi.
	Distro string `json:"distro"`
	// Release is the version Trivy looks the distro's advisories up by:
	// "12" (debian), "9" (rocky), "3.0" (azurelinux), "15.6"
	// (opensuse-leap), "3.20" (alpine); none for wolfi.
	Release string `json:"release,omitempty"`
	// SourcePackage names the source package, for the distros whose
	// detector looks source packages up (debian, azurelinux; alpine and
	// wolfi: the origin, o: in the installed database).
	SourcePackage string `json:"source_package,omitempty"`
	// Package names the binary package, for the distros whose detector
	// looks binary packages up (rocky, opensuse-leap).
	Package         string `json:"package,omitempty"`
	VulnerabilityID string `json:"vulnerability_id"`
	// FixedVersion is a Debian version, an RPM "[epoch:]version-release"
	// or an apk "version-rN".
	FixedVersion string `json:"fixed_version"`
	// Arches limits a rocky advisory to these architectures; none means
	// every one.
	Arches      []string `json:"arches,omitempty"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
}

// name is the package name the advisory is stored under.
func (a Advisory) name() string {
	return cmp.Or(a.Package, a.SourcePackage)
}

// file is the advisories file. Other keys (comment, origin, evidence, note)
// document where an advisory comes from and are not needed in the database.
type file struct {
	Advisories []Advisory `json:"advisories"`
}

// dupKey is what the database keys an advisory by: platform, package, ID.
type dupKey struct{ distro, release, name, id string }

// Parse reads an advisories file and checks every entry, so that the
// database never holds an advisory Trivy would silently skip.
func Parse(dt []byte) ([]Advisory, error) {
	return parse(dt, "", map[dupKey]string{})
}

// ParseFiles reads advisories files into one list, checked as Parse does;
// an advisory two files both give is refused too.
func ParseFiles(paths ...string) ([]Advisory, error) {
	if len(paths) == 0 {
		return nil, errors.New("no advisories files")
	}
	var all []Advisory
	seen := map[dupKey]string{}
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		advs, err := parse(dt, p, seen)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, advs...)
	}
	return all, nil
}

// parse reads one file, named name in duplicate errors, recording its
// advisories' keys in seen.
func parse(dt []byte, name string, seen map[dupKey]string) ([]Advisory, error) {
	var f file
	if err := json.Unmarshal(dt, &f); err != nil {
		return nil, fmt.Errorf("parsing advisories: %w", err)
	}
	if len(f.Advisories) == 0 {
		return nil, errors.New("parsing advisories: no advisories")
	}
	var errs []error
	for i, a := range f.Advisories {
		where := strings.TrimSpace(fmt.Sprintf("%s advisory %d", name, i))
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("advisory %d (%s %s %s): %w", i, a.Distro, a.name(), a.VulnerabilityID, err))
		}
		// A second entry would silently replace the first.
		k := dupKey{a.Distro, a.Release, a.name(), a.VulnerabilityID}
		if prev, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("advisory %d (%s %s %s): duplicate of %s", i, a.Distro, a.name(), a.VulnerabilityID, prev))
		} else {
			seen[k] = where
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f.Advisories, nil
}

// validate checks one advisory against what its distro's detector reads.
func (a Advisory) validate() error {
	if strings.TrimSpace(a.Distro) == "" {
		return errors.New("distro is empty")
	}
	d, err := lookupDistro(a.Distro)
	if err != nil {
		return err
	}
	if err := d.checkName(a); err != nil {
		return err
	}
	for _, f := range []struct{ key, val string }{
		{"release", a.Release},
		{"vulnerability_id", a.VulnerabilityID},
		{"fixed_version", a.FixedVersion},
	} {
		if strings.TrimSpace(f.val) == "" && (f.key != "release" || !d.noRelease) {
			return fmt.Errorf("%s is empty", f.key)
		}
	}
	if _, err := d.platform(a.Release); err != nil {
		return err
	}
	if err := d.checkID(a.VulnerabilityID); err != nil {
		return err
	}
	if err := d.version(a.FixedVersion); err != nil {
		return fmt.Errorf("fixed_version %q: %w", a.FixedVersion, err)
	}
	if err := d.checkArches(a.Arches); err != nil {
		return err
	}
	_, err = severity(a.Severity)
	return err
}

// checkName checks that the advisory names the package the way the
// distro's detector looks it up, binary or source, and not both.
func (d distro) checkName(a Advisory) error {
	want, other := "source_package", "package"
	name, wrong := a.SourcePackage, a.Package
	if d.binary {
		want, other = other, want
		name, wrong = wrong, name
	}
	if wrong != "" {
		return fmt.Errorf("%s is set: Trivy looks %s advisories up by %s", other, a.Distro, want)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%s is empty", want)
	}
	return nil
}

// severity maps the file's severity to trivy-db's; an empty one is UNKNOWN.
func severity(s string) (dbtypes.Severity, error) {
	if s == "" {
		return dbtypes.SeverityUnknown, nil
	}
	sev, err := dbtypes.NewSeverity(strings.ToUpper(s))
	if err != nil {
		return 0, fmt.Errorf("severity %q: want one of %s", s, strings.Join(dbtypes.SeverityNames, ", "))
	}
	return sev, nil
}
