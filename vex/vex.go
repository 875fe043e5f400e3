package vex

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// DefaultAuthor is the document author when Input.Author is empty.
const DefaultAuthor = "darn"

// IDPrefix starts every @id that Document derives from the content.
const IDPrefix = "https://darn.dev/vex/"

// ErrNothingFixed is returned by Document for an input without any fixed
// vulnerability. A document without statements states nothing, so callers
// check with errors.Is and attach no document, as they return an image with
// nothing to patch unchanged.
var ErrNothingFixed = errors.New("no fixed vulnerability to state")

// Fixed is one vulnerability darn verified fixed in the patched image.
type Fixed struct {
	// Vulnerability is the id as the scanner reported it, e.g.
	// "CVE-2025-4802".
	Vulnerability string
	// Package is the binary package that was upgraded, e.g. "libc6".
	Package string
	// Version is the package's version installed now, in the patched
	// image.
	Version string
	// PURL is the package URL of Package at Version.
	PURL string
}

// Input is what Document needs to know about one patched image.
type Input struct {
	// Repository is the image repository without tag or digest, e.g.
	// "registry.example/team/app". A Docker Hub short name such as
	// "debian" is normalised to "docker.io/library/debian".
	Repository string
	// Digest is the patched image's manifest (or index) digest.
	Digest digest.Digest
	// Tag is optional; it becomes the purl's tag qualifier.
	Tag string
	// Platform is optional, e.g. "linux/amd64"; its architecture becomes
	// the purl's arch qualifier. Leave it empty when Digest names an index.
	Platform string
	// Fixed lists the verified fixes; the order does not matter and
	// duplicates are merged.
	Fixed []Fixed
	// Author is the document author; empty means DefaultAuthor.
	Author string
	// Timestamp is when the document was made. It is required because
	// Document never reads the clock, which keeps output reproducible.
	Timestamp time.Time
	// ID is the document @id; empty means IDPrefix plus the SHA-256 of the
	// document without @id and timestamp.
	ID string
}

// PackageChange is one upgraded package, as a patch summary lists it.
type PackageChange struct {
	// Name is the binary package name.
	Name string
	// To is the version installed now.
	To string
	// PURL is the package URL of the package at To, as its family
	// writes it.
	PURL string
	// Fixes are the vulnerability ids the upgrade resolved.
	Fixes []string
}

// Document builds the OpenVEX document stating every vulnerability in
// in.Fixed as fixed in the patched image. It returns ErrNothingFixed when
// in.Fixed is empty.
func Document(in Input) (*openvex.VEX, error) {
	if len(in.Fixed) == 0 {
		return nil, ErrNothingFixed
	}
	if in.Timestamp.IsZero() {
		return nil, errors.New("building VEX document: timestamp is required")
	}
	product, err := imagePURL(in)
	if err != nil {
		return nil, fmt.Errorf("building VEX document: %w", err)
	}
	stmts, err := statements(product, in.Fixed)
	if err != nil {
		return nil, fmt.Errorf("building VEX document: %w", err)
	}
	return assemble(in, stmts)
}

// PredicateType is the in-toto predicate type of an OpenVEX v0.2 document
// attached to an image as an attestation.
const PredicateType = "https://openvex.dev/ns/v0.2.0"

// Attested builds the OpenVEX document that goes into an in-toto
// attestation of the patched image. Its statements name no product: in an
// attestation the statement's subject (the image manifest, filled in by
// BuildKit when it exports the image) is the product, as OpenVEX's
// attestation rules cascade it, and the manifest's digest is not known
// before the export. The upgraded packages are named in status_notes.
// in.Repository, in.Digest, in.Tag and in.Platform are not used.
func Attested(in Input) (*openvex.VEX, error) {
	if len(in.Fixed) == 0 {
		return nil, ErrNothingFixed
	}
	if in.Timestamp.IsZero() {
		return nil, errors.New("building VEX document: timestamp is required")
	}
	stmts, err := statements("", in.Fixed)
	if err != nil {
		return nil, fmt.Errorf("building VEX document: %w", err)
	}
	return assemble(in, stmts)
}

// assemble wraps statements into a document with in's metadata.
func assemble(in Input, stmts []openvex.Statement) (*openvex.VEX, error) {
	// go-vex writes the timestamp with second precision; truncating here
	// keeps the returned value equal to what a reader parses back.
	ts := in.Timestamp.UTC().Truncate(time.Second)
	doc := &openvex.VEX{
		Metadata: openvex.Metadata{
			Context:   openvex.ContextLocator(),
			ID:        in.ID,
			Author:    cmp.Or(in.Author, DefaultAuthor),
			Timestamp: &ts,
			Version:   1,
		},
		Statements: stmts,
	}
	if doc.ID == "" {
		var err error
		if doc.ID, err = contentID(doc); err != nil {
			return nil, fmt.Errorf("building VEX document: %w", err)
		}
	}
	return doc, nil
}

// Marshal encodes doc as go-vex writes OpenVEX JSON: indented by two
// spaces, map keys sorted, one trailing newline. go-vex's own MarshalJSON
// escapes '&' in package URLs as \u0026; readers decode it back.
func Marshal(doc *openvex.VEX) ([]byte, error) {
	if doc == nil {
		return nil, errors.New("marshalling VEX document: nil document")
	}
	var b bytes.Buffer
	if err := doc.ToJSON(&b); err != nil {
		return nil, fmt.Errorf("marshalling VEX document: %w", err)
	}
	return b.Bytes(), nil
}

// FromChanges lists one Fixed per vulnerability id and upgraded package,
// with the package URL of the version now installed. Changes without
// fixes (dependencies pulled in by the upgrade) give none.
func FromChanges(changes []PackageChange) []Fixed {
	var out []Fixed
	for _, c := range changes {
		for _, id := range c.Fixes {
			out = append(out, Fixed{Vulnerability: id, Package: c.Name, Version: c.To, PURL: c.PURL})
		}
	}
	slices.SortFunc(out, compareFixed)
	return slices.Compact(out)
}

// compareFixed orders fixes by vulnerability, then package URL.
func compareFixed(a, b Fixed) int {
	return cmp.Or(
		strings.Compare(a.Vulnerability, b.Vulnerability),
		strings.Compare(a.PURL, b.PURL),
		strings.Compare(a.Package, b.Package),
		strings.Compare(a.Version, b.Version),
	)
}

// imagePURL returns the oci package URL of the patched image, following
// the purl oci type: the name is the repository's last path element, the
// version the digest, and repository_url the repository without scheme.
func imagePURL(in Input) (string, error) {
	named, err := reference.ParseNormalizedNamed(in.Repository)
	if err != nil {
		return "", fmt.Errorf("parsing repository %q: %w", in.Repository, err)
	}
	if !reference.IsNameOnly(named) {
		return "", fmt.Errorf("repository %q has a tag or digest: pass them as Tag and Digest", in.Repository)
	}
	if err := in.Digest.Validate(); err != nil {
		return "", fmt.Errorf("checking digest %q: %w", in.Digest, err)
	}
	q := packageurl.Qualifiers{{Key: "repository_url", Value: named.Name()}}
	if in.Tag != "" {
		if _, err := reference.WithTag(named, in.Tag); err != nil {
			return "", fmt.Errorf("checking tag %q: %w", in.Tag, err)
		}
		q = append(q, packageurl.Qualifier{Key: "tag", Value: in.Tag})
	}
	if in.Platform != "" {
		arch, err := platformArch(in.Platform)
		if err != nil {
			return "", err
		}
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	name := strings.ToLower(path.Base(reference.Path(named)))
	p := packageurl.NewPackageURL(packageurl.TypeOCI, "", name, in.Digest.String(), q, "")
	return p.ToString(), nil
}

// platformArch returns the architecture of "os/arch[/variant]". The variant
// is dropped: the digest already pins the image, and the purl oci type has
// no variant qualifier.
func platformArch(platform string) (string, error) {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return "", fmt.Errorf("parsing platform %q: want os/arch[/variant]", platform)
	}
	return parts[1], nil
}

// statements returns one fixed statement per vulnerability, sorted by id,
// each with the image as its one product and the fixed packages, sorted, as
// subcomponents; without products when product is empty.
func statements(product string, fixed []Fixed) ([]openvex.Statement, error) {
	byVuln, err := group(fixed)
	if err != nil {
		return nil, err
	}
	out := make([]openvex.Statement, 0, len(byVuln))
	for _, id := range slices.Sorted(maps.Keys(byVuln)) {
		pkgs := byVuln[id]
		subs := make([]openvex.Subcomponent, 0, len(pkgs))
		for _, purl := range slices.Sorted(maps.Keys(pkgs)) {
			subs = append(subs, openvex.Subcomponent{Component: openvex.Component{ID: purl}})
		}
		st := openvex.Statement{
			Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(id)},
			Status:        openvex.StatusFixed,
			StatusNotes:   notes(pkgs),
		}
		if product != "" {
			st.Products = []openvex.Product{{Component: openvex.Component{ID: product}, Subcomponents: subs}}
		}
		out = append(out, st)
	}
	return out, nil
}

// group indexes the fixes by vulnerability id and canonical package URL,
// merging duplicates and rejecting entries that disagree.
func group(fixed []Fixed) (map[string]map[string]Fixed, error) {
	out := map[string]map[string]Fixed{}
	var errs []error
	for _, f := range fixed {
		purl, err := canonicalPURL(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.PURL = purl
		if out[f.Vulnerability] == nil {
			out[f.Vulnerability] = map[string]Fixed{}
		}
		if old, ok := out[f.Vulnerability][purl]; ok && old != f {
			errs = append(errs, fmt.Errorf("conflicting fixes of %s in %s", f.Vulnerability, purl))
			continue
		}
		out[f.Vulnerability][purl] = f
	}
	return out, errors.Join(errs...)
}

// canonicalPURL checks one fix and returns its package URL in canonical
// form, so that equal URLs spelt differently make one subcomponent.
func canonicalPURL(f Fixed) (string, error) {
	if f.Vulnerability == "" {
		return "", fmt.Errorf("fix in %q has no vulnerability id", f.PURL)
	}
	p, err := packageurl.FromString(f.PURL)
	if err != nil {
		return "", fmt.Errorf("parsing package URL of %s: %w", f.Vulnerability, err)
	}
	if p.Name == "" || (p.Type == packageurl.TypeDebian && p.Namespace == "") {
		return "", fmt.Errorf("package URL %q of %s lacks a name or namespace", f.PURL, f.Vulnerability)
	}
	return p.ToString(), nil
}

// notes says in words which upgrades fixed the vulnerability, for readers
// who do not decode package URLs; it is empty when no fix names a package.
func notes(pkgs map[string]Fixed) string {
	var ups []string
	for _, f := range pkgs {
		if f.Package != "" && f.Version != "" {
			ups = append(ups, f.Package+" "+f.Version)
		}
	}
	if len(ups) == 0 {
		return ""
	}
	slices.Sort(ups)
	return "fixed by darn upgrading " + strings.Join(slices.Compact(ups), ", ")
}

// contentID derives the document @id from everything but the @id and the
// timestamp, so that re-making the document for the same patched image and
// fixes later yields the same @id.
func contentID(doc *openvex.VEX) (string, error) {
	c := *doc
	c.ID, c.Timestamp = "", nil
	dt, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("hashing document content: %w", err)
	}
	sum := sha256.Sum256(dt)
	return IDPrefix + hex.EncodeToString(sum[:]), nil
}
