package advisorydb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulndb"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"
	"k8s.io/utils/clock"
)

// SourceName names the vulnsrc that feeds the advisories to trivy-db.
const SourceName dbtypes.SourceID = "darn-advisories"

// dataSource is what Trivy reports as an advisory's DataSource. Its ID is
// Debian's, so that Trivy takes the advisories' severity as Debian's own
// (SeveritySource "debian"), as it does with the published database.
var dataSource = dbtypes.DataSource{
	ID:   vulnerability.Debian,
	Name: "darn test advisories (Debian security uploads)",
}

// Options says when the database was made and how long Trivy may use it.
type Options struct {
	// Now is UpdatedAt and DownloadedAt in metadata.json.
	Now time.Time
	// ValidFor is added to Now for NextUpdate.
	ValidFor time.Duration
}

// Dir is where Trivy looks for its database below a cache directory
// (`trivy --cache-dir DIR`), as trivy's pkg/db.Dir has it.
func Dir(cacheDir string) string {
	return filepath.Join(cacheDir, "db")
}

// Build writes trivy.db and metadata.json into Dir(cacheDir), replacing the
// database there only once the new one is complete. It uses trivy-db's
// process-wide database handle, so Builds must not run concurrently.
func Build(cacheDir string, advs []Advisory, opts Options) error {
	dir := Dir(cacheDir)
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("removing %s: %w", tmp, err)
	}
	if err := build(tmp, advs, opts); err != nil {
		return errors.Join(fmt.Errorf("building trivy db in %s: %w", tmp, err), os.RemoveAll(tmp))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the old db %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("moving the db into place: %w", err)
	}
	return nil
}

// build runs trivy-db's own build (insert, optimize, clean up) with a
// vulnsrc holding advs, then stamps the metadata as downloaded.
func build(dir string, advs []Advisory, opts Options) (err error) {
	if err := db.Init(dir); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	src := source{advs: advs, dbc: db.Config{}}
	tdb := vulndb.New("", dir, opts.ValidFor,
		vulndb.WithClock(fixedClock{now: opts.Now.UTC()}),
		vulndb.WithVulnSrcs(map[dbtypes.SourceID]vulnsrc.VulnSrc{SourceName: src}))
	if err := tdb.Build([]string{string(SourceName)}); err != nil {
		return err
	}
	// trivy-db leaves DownloadedAt to the downloader; Trivy treats a database
	// without it as possibly corrupt unless --skip-db-update is given.
	mc := metadata.NewClient(dir)
	md, err := mc.Get()
	if err != nil {
		return err
	}
	md.DownloadedAt = opts.Now.UTC()
	return mc.Update(md)
}

// fixedClock is the real clock except that it is always Now, so that
// metadata.json says exactly what Options says.
type fixedClock struct {
	clock.RealClock
	now time.Time
}

// Now returns the fixed time.
func (c fixedClock) Now() time.Time { return c.now }

// source is a trivy-db vulnsrc whose advisories come from memory.
type source struct {
	advs []Advisory
	dbc  db.Operation
}

// Name identifies the source to vulndb.
func (s source) Name() dbtypes.SourceID { return SourceName }

// Update puts every advisory in one transaction; the directory is unused.
func (s source) Update(string) error {
	return s.dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range s.advs {
			if err := s.put(tx, a); err != nil {
				return fmt.Errorf("putting %s %s: %w", a.SourcePackage, a.VulnerabilityID, err)
			}
		}
		return nil
	})
}

// put stores one advisory as trivy-db's Debian vulnsrc does (defaultPut),
// with the severity both on the advisory (Trivy's Debian detector reports
// it as the package's severity) and in the vulnerability details.
func (s source) put(tx *bolt.Tx, a Advisory) error {
	plat, err := platform(a.Distro, a.Release)
	if err != nil {
		return err
	}
	sev, err := severity(a.Severity)
	if err != nil {
		return err
	}
	adv := dbtypes.Advisory{FixedVersion: a.FixedVersion, Severity: sev}
	// A pointer, so that Advisory.MarshalJSON stores Status as trivy-db does.
	if err := s.dbc.PutAdvisoryDetail(tx, a.VulnerabilityID, a.SourcePackage, []string{plat}, &adv); err != nil {
		return err
	}
	detail := dbtypes.VulnerabilityDetail{ID: a.VulnerabilityID, Severity: sev, Title: a.Title, Description: a.Description}
	if err := s.dbc.PutVulnerabilityDetail(tx, a.VulnerabilityID, dataSource.ID, detail); err != nil {
		return err
	}
	if err := s.dbc.PutVulnerabilityID(tx, a.VulnerabilityID); err != nil {
		return err
	}
	return s.dbc.PutDataSource(tx, plat, dataSource)
}

// platform returns the bucket Trivy reads a release's advisories from.
func platform(distro, release string) (string, error) {
	if distro != "debian" {
		return "", fmt.Errorf("distro %q is not supported (only debian)", distro)
	}
	if !majorRelease.MatchString(release) {
		return "", fmt.Errorf("release %q is not a Debian major version such as 12", release)
	}
	return bucket.NewDebian(release).Name(), nil
}
