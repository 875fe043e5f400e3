package advisorydb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulndb"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/rocky"
	susecvrf "github.com/aquasecurity/trivy-db/pkg/vulnsrc/suse-cvrf"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"
	"k8s.io/utils/clock"
)

// SourceName names the vulnsrc that feeds the advisories to trivy-db.
const SourceName dbtypes.SourceID = "darn-advisories"

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
				return fmt.Errorf("putting %s %s %s: %w", a.Distro, a.name(), a.VulnerabilityID, err)
			}
		}
		return nil
	})
}

// put stores one advisory as its distro's trivy-db vulnsrc does, and the
// data source of its platform bucket.
func (s source) put(tx *bolt.Tx, a Advisory) error {
	d, err := lookupDistro(a.Distro)
	if err != nil {
		return err
	}
	plat, err := d.platform(a.Release)
	if err != nil {
		return err
	}
	sev, err := severity(a.Severity)
	if err != nil {
		return err
	}
	detail := dbtypes.VulnerabilityDetail{ID: a.VulnerabilityID, Severity: sev, Title: a.Title, Description: a.Description}
	if err := d.put(s.dbc, tx, plat, a, detail); err != nil {
		return err
	}
	return s.dbc.PutDataSource(tx, plat, d.source)
}

// putFunc stores an advisory's package entry in the platform bucket plat,
// its vulnerability detail under the distro's source ID and its ID.
type putFunc func(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error

// putDebian stores as trivy-db's Debian vulnsrc does (defaultPut), with the
// severity also on the advisory: Trivy's Debian detector reports it as the
// package's severity.
func putDebian(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	adv := dbtypes.Advisory{FixedVersion: a.FixedVersion, Severity: detail.Severity}
	// A pointer, so that Advisory.MarshalJSON stores Status as trivy-db does.
	if err := dbc.PutAdvisoryDetail(tx, a.VulnerabilityID, a.name(), []string{plat}, &adv); err != nil {
		return err
	}
	return putDetail(dbc, tx, vulnerability.Debian, a, detail)
}

// putAzure stores as trivy-db's Azure Linux vulnsrc does (commit, whose
// entries are unexported): a bare advisory keyed by source package.
func putAzure(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	adv := dbtypes.Advisory{FixedVersion: a.FixedVersion}
	if err := dbc.PutAdvisoryDetail(tx, a.VulnerabilityID, a.name(), []string{plat}, adv); err != nil {
		return err
	}
	return putDetail(dbc, tx, vulnerability.AzureLinux, a, detail)
}

// putSecDB stores as trivy-db's Alpine and Wolfi vulnsrcs do (their
// saveSecFixes): a bare advisory keyed by origin. Their secdbs carry no
// severity; Trivy shows the NVD's for the ID, so the detail goes there.
func putSecDB(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	adv := dbtypes.Advisory{FixedVersion: a.FixedVersion}
	if err := dbc.PutAdvisoryDetail(tx, a.VulnerabilityID, a.name(), []string{plat}, adv); err != nil {
		return err
	}
	return putDetail(dbc, tx, vulnerability.NVD, a, detail)
}

// putDetail stores the vulnerability detail under source and the ID.
func putDetail(dbc db.Operation, tx *bolt.Tx, src dbtypes.SourceID, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	if err := dbc.PutVulnerabilityDetail(tx, a.VulnerabilityID, src, detail); err != nil {
		return err
	}
	return dbc.PutVulnerabilityID(tx, a.VulnerabilityID)
}

// putRocky stores through trivy-db's Rocky Put, which writes the detail
// under "rocky", the ID and the package's types.Advisories.
func putRocky(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	return (&rocky.Rocky{Operation: dbc}).Put(tx, rocky.PutInput{
		PlatformName: plat,
		CveID:        a.VulnerabilityID,
		Vuln:         detail,
		Advisories:   map[string]dbtypes.Advisories{a.name(): rockyAdvisories(a)},
	})
}

// rockyAdvisories is an advisory as the Rocky vulnsrc shapes it. Without
// arches it has no Entries, which the Rocky Get returns for every arch.
// With them, the top-level FixedVersion is what Trivy before Entries read;
// v0.74.0 reads only the Entries then.
func rockyAdvisories(a Advisory) dbtypes.Advisories {
	advs := dbtypes.Advisories{FixedVersion: a.FixedVersion}
	if len(a.Arches) > 0 {
		// Put sorts the arches in place: a copy keeps a's.
		advs.Entries = []dbtypes.Advisory{{FixedVersion: a.FixedVersion, Arches: slices.Clone(a.Arches)}}
	}
	return advs
}

// putSUSE stores through trivy-db's SUSE CVRF Put, the advisory ID being
// the CVRF tracking ID.
func putSUSE(dbc db.Operation, tx *bolt.Tx, plat string, a Advisory, detail dbtypes.VulnerabilityDetail) error {
	var cvrf susecvrf.SuseCvrf
	cvrf.Tracking.ID = a.VulnerabilityID
	return (&susecvrf.Suse{Operation: dbc}).Put(tx, susecvrf.PutInput{
		Cvrf: cvrf,
		Vuln: detail,
		AffectedPkgs: []susecvrf.AffectedPackage{{
			OSVer:   plat,
			Package: susecvrf.Package{Name: a.name(), FixedVersion: a.FixedVersion},
		}},
	})
}
