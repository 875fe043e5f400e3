package advisorydb

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	debversion "github.com/knqyf263/go-deb-version"
)

// Advisory is one fixed vulnerability of one source package in one
// release, as an advisories file lists it.
type Advisory struct {
	Distro          string `json:"distro"`
	Release         string `json:"release"`
	SourcePackage   string `json:"source_package"`
	VulnerabilityID string `json:"vulnerability_id"`
	FixedVersion    string `json:"fixed_version"`
	Severity        string `json:"severity"`
	Title           string `json:"title"`
	Description     string `json:"description"`
}

// file is the advisories file. Other keys (comment, origin, evidence, note)
// document where an advisory comes from and are not needed in the database.
type file struct {
	Advisories []Advisory `json:"advisories"`
}

// majorRelease matches what Trivy looks a Debian release up by: the major
// version of /etc/debian_version (osver.Major).
var majorRelease = regexp.MustCompile(`^[1-9][0-9]*$`)

// Parse reads an advisories file and checks every entry, so that the
// database never holds an advisory Trivy would silently skip.
func Parse(dt []byte) ([]Advisory, error) {
	var f file
	if err := json.Unmarshal(dt, &f); err != nil {
		return nil, fmt.Errorf("parsing advisories: %w", err)
	}
	if len(f.Advisories) == 0 {
		return nil, errors.New("parsing advisories: no advisories")
	}
	var errs []error
	seen := map[Advisory]int{}
	for i, a := range f.Advisories {
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("advisory %d (%s %s): %w", i, a.SourcePackage, a.VulnerabilityID, err))
		}
		// The database keys an advisory by platform, package and ID; a second
		// entry would silently replace the first.
		k := Advisory{Distro: a.Distro, Release: a.Release, SourcePackage: a.SourcePackage, VulnerabilityID: a.VulnerabilityID}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("advisory %d (%s %s): duplicate of advisory %d", i, a.SourcePackage, a.VulnerabilityID, j))
		}
		seen[k] = i
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f.Advisories, nil
}

// validate checks one advisory.
func (a Advisory) validate() error {
	for _, f := range []struct{ key, val string }{
		{"distro", a.Distro},
		{"release", a.Release},
		{"source_package", a.SourcePackage},
		{"vulnerability_id", a.VulnerabilityID},
		{"fixed_version", a.FixedVersion},
	} {
		if strings.TrimSpace(f.val) == "" {
			return fmt.Errorf("%s is empty", f.key)
		}
	}
	if _, err := platform(a.Distro, a.Release); err != nil {
		return err
	}
	if _, err := debversion.NewVersion(a.FixedVersion); err != nil {
		return fmt.Errorf("fixed_version %q: %w", a.FixedVersion, err)
	}
	_, err := severity(a.Severity)
	return err
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
