package deb

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/darn-dev/darn/plan"
)

// What a stanza without a Status field means depends on where it comes
// from. dpkg reads it as "unknown ok not-installed" in its status file;
// distroless images write their status.d/ files from the package's control
// stanza, which has no Status, and the file's presence is the record of
// installation.
const (
	statusFileDefault = "unknown ok not-installed"
	statusDirDefault  = "install ok installed"
)

// ParseStatus parses the dpkg database /var/lib/dpkg/status and returns the
// packages dpkg-query -W lists: every entry except those in the
// not-installed state, sorted by name and architecture.
//
// It accepts what dpkg accepts, plus CRLF line ends and a missing final
// newline, and fails where dpkg fails: a stanza without Package, an invalid
// package name, a malformed Status, a missing Version on a package that has
// files, a Version dpkg cannot parse (see checkDBVersion), or two entries
// for one package and architecture. A package database dpkg rejects would make
// apt-get fail in the image too, so patching it is pointless.
//
// Package.Installed is true in the states where all files of Version are
// unpacked on disk (unpacked, half-configured, triggers-awaited,
// triggers-pending, installed): the vulnerable code is present, and
// apt-get upgrades such packages like installed ones. It is false for
// config-files (only conffiles are left) and half-installed (files are
// partly present and Version may be absent).
func ParseStatus(db []byte) ([]plan.Package, error) {
	pkgs, err := parsePackages(db, statusFileDefault)
	if err != nil {
		return nil, fmt.Errorf("parsing dpkg status: %w", err)
	}
	if err := sortUnique(pkgs); err != nil {
		return nil, fmt.Errorf("parsing dpkg status: %w", err)
	}
	return pkgs, nil
}

// ParseStatusDir parses the files of a distroless image's
// /var/lib/dpkg/status.d/ directory, keyed by file name, and returns their
// packages sorted by name and architecture. Each file holds one or more
// stanzas as in ParseStatus. A stanza without a Status field is taken as
// installed, since that is how distroless writes them, and its
// Package.Status stays empty. Sidecar files such as <pkg>.md5sums or
// <pkg>.preinst are skipped.
func ParseStatusDir(files map[string][]byte) ([]plan.Package, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		if !isSidecar(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)

	var all []plan.Package
	var errs []error
	for _, name := range names {
		pkgs, err := parsePackages(files[name], statusDirDefault)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path.Base(name), err))
			continue
		}
		all = append(all, pkgs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parsing dpkg status.d: %w", err)
	}
	if err := sortUnique(all); err != nil {
		return nil, fmt.Errorf("parsing dpkg status.d: %w", err)
	}
	return all, nil
}

// isSidecar reports whether a status.d file holds one of dpkg's per-package
// control files (see dpkg's info directory) rather than a stanza. Package
// names may contain dots, as in libpython3.11, so only these extensions
// count.
func isSidecar(name string) bool {
	switch path.Ext(name) {
	case ".md5sums", ".conffiles", ".list", ".preinst", ".postinst", ".prerm", ".postrm",
		".config", ".templates", ".triggers", ".shlibs", ".symbols":
		return true
	}
	return false
}

// sortUnique sorts by name and architecture, the order of dpkg-query -W,
// and rejects duplicates: dpkg refuses two instances of one package and
// architecture, and a plan could not tell which one to upgrade.
func sortUnique(pkgs []plan.Package) error {
	slices.SortFunc(pkgs, func(a, b plan.Package) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Arch, b.Arch))
	})
	for i := 1; i < len(pkgs); i++ {
		if pkgs[i].Name == pkgs[i-1].Name && pkgs[i].Arch == pkgs[i-1].Arch {
			return fmt.Errorf("duplicate entry for package %s:%s", pkgs[i].Name, pkgs[i].Arch)
		}
	}
	return nil
}

// parsePackages turns every stanza of db into a package, taking
// defaultStatus for stanzas without a Status field and dropping those in
// the not-installed state. Errors are joined so one run reports every bad
// stanza.
func parsePackages(db []byte, defaultStatus string) ([]plan.Package, error) {
	stanzas, err := parseStanzas(db)
	if err != nil {
		return nil, err
	}
	var pkgs []plan.Package
	var errs []error
	for _, s := range stanzas {
		p, listed, err := toPackage(s, defaultStatus)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("stanza at line %d: %w", s.line, err))
		case listed:
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, errors.Join(errs...)
}

// toPackage converts one stanza. It reports listed=false for entries dpkg
// keeps only as selections (the not-installed state), which dpkg-query -W
// does not list either.
func toPackage(s stanza, defaultStatus string) (p plan.Package, listed bool, err error) {
	raw := s.fields["package"]
	if raw == "" {
		return p, false, errors.New("missing or empty Package field")
	}
	if err := checkName(raw); err != nil {
		return p, false, fmt.Errorf("package %q: %w", raw, err)
	}
	// dpkg folds package names to lower case when it reads them.
	name := strings.ToLower(raw)
	state, err := parseStatusField(cmp.Or(s.fields["status"], defaultStatus))
	if err != nil {
		return p, false, fmt.Errorf("package %s: %w", name, err)
	}
	if state == "not-installed" {
		return p, false, nil
	}
	version := s.fields["version"]
	if version == "" && state != "half-installed" {
		return p, false, fmt.Errorf("package %s: missing or empty Version field", name)
	}
	if err := checkDBVersion(version); version != "" && err != nil {
		return p, false, fmt.Errorf("package %s: version %q: %w", name, version, err)
	}
	source, sourceVersion, err := parseSource(s.fields["source"], name, version)
	if err != nil {
		return p, false, fmt.Errorf("package %s: %w", name, err)
	}
	return plan.Package{
		Name:          name,
		Version:       version,
		Arch:          s.fields["architecture"],
		Source:        source,
		SourceVersion: sourceVersion,
		Status:        strings.Join(strings.Fields(s.fields["status"]), " "),
		Installed:     filesPresent(state),
	}, true, nil
}

// checkName rejects a package name dpkg refuses to read
// (pkg_name_is_illegal): it starts with an ASCII letter or digit and holds
// only those and "-+._". The names reach apt-get's command line, where
// one starting with '-' would be taken for an option.
func checkName(name string) error {
	if !isAlnum(name[0]) {
		return errors.New("invalid package name: must start with an alphanumeric character")
	}
	for _, c := range []byte(name) {
		if !isAlnum(c) && !strings.ContainsRune("-+._", rune(c)) {
			return fmt.Errorf("invalid package name: character %q not allowed", c)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// parseStatusField checks a "want error-flag state" Status value word by
// word, as dpkg does, and returns the state word.
func parseStatusField(value string) (string, error) {
	words := strings.Fields(value)
	if len(words) != 3 {
		return "", fmt.Errorf("status %q: want three words", value)
	}
	for i, allowed := range [][]string{
		{"unknown", "install", "hold", "deinstall", "purge"},
		{"ok", "reinstreq"},
		{
			"not-installed", "config-files", "half-installed", "unpacked",
			"half-configured", "triggers-awaited", "triggers-pending", "installed",
		},
	} {
		if !slices.Contains(allowed, words[i]) {
			return "", fmt.Errorf("status %q: invalid word %q", value, words[i])
		}
	}
	return words[2], nil
}

// filesPresent reports whether every file of the package's version is on
// disk in state; see ParseStatus for why these states count as installed.
func filesPresent(state string) bool {
	switch state {
	case "unpacked", "half-configured", "triggers-awaited", "triggers-pending", "installed":
		return true
	}
	return false
}

// parseSource splits a Source field, "name" or "name (version)", the way
// dpkg-query does: the name ends at the first space and the version is the
// text after '(' up to ')'. Without a version the source version is the
// binary version, and without the field the source is the binary package.
func parseSource(field, name, version string) (string, string, error) {
	if field == "" {
		return name, version, nil
	}
	source, _, _ := strings.Cut(field, " ")
	_, rest, ok := strings.Cut(field, "(")
	if !ok {
		return source, version, nil
	}
	rest, _, _ = strings.Cut(rest, ")")
	if rest = strings.TrimSpace(rest); rest == "" {
		return "", "", fmt.Errorf("source %q: empty version", field)
	}
	return source, rest, nil
}

// stanza is one paragraph of a deb822 file.
type stanza struct {
	// line is the line number of the stanza's first field.
	line int
	// fields maps lower-cased field names, since dpkg matches them
	// case-insensitively, to values with surrounding blanks removed.
	fields map[string]string
}

// parseStanzas splits db into stanzas separated by empty lines. A line that
// starts with a space or tab continues the previous field, even when it is
// otherwise blank, as dpkg reads it; such lines are joined with newlines.
func parseStanzas(db []byte) ([]stanza, error) {
	var p stanzaParser
	n := 0
	for raw := range bytes.Lines(db) {
		n++
		if err := p.line(bytes.TrimRight(raw, "\r\n"), n); err != nil {
			return nil, err
		}
	}
	p.endStanza()
	return p.out, nil
}

// stanzaParser holds the stanza being read. A field's continuation lines
// are collected in one buffer and the value is stored when the field
// ends: appending each line to the stored string would copy the value
// every time, which is quadratic in a long field (a Description, or the
// Conffiles of a big package) and lets a crafted database stall a patch.
type stanzaParser struct {
	out []stanza
	cur stanza
	// last is the lower-cased name of the current field, empty before
	// the first field of a stanza.
	last string
	// value is the current field's value so far; continued says whether
	// it has continuation lines, and so differs from the stored value.
	value     []byte
	continued bool
}

// line reads line number n, without its line end.
func (p *stanzaParser) line(line []byte, n int) error {
	switch {
	case len(line) == 0:
		p.endStanza()
	case line[0] == ' ' || line[0] == '\t':
		if p.last == "" {
			return fmt.Errorf("line %d: continuation line outside a field", n)
		}
		p.value = append(append(p.value, '\n'), bytes.TrimSpace(line)...)
		p.continued = true
	default:
		p.endField()
		key, err := addField(&p.cur, string(line), n)
		if err != nil {
			return err
		}
		p.last = key
		p.value = append(p.value[:0], p.cur.fields[key]...)
	}
	return nil
}

// endField stores the current field's value if continuation lines added
// to it.
func (p *stanzaParser) endField() {
	if p.continued {
		p.cur.fields[p.last] = string(p.value)
	}
	p.last, p.continued = "", false
}

// endStanza closes the current stanza, if it has any field.
func (p *stanzaParser) endStanza() {
	p.endField()
	if p.cur.fields != nil {
		p.out = append(p.out, p.cur)
	}
	p.cur = stanza{}
}

// addField adds one "Name: value" line to s and returns the lower-cased
// field name.
func addField(s *stanza, line string, n int) (string, error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", fmt.Errorf("line %d: field name must be followed by a colon: %q", n, line)
	}
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		return "", fmt.Errorf("line %d: empty field name", n)
	}
	if s.fields == nil {
		s.fields = map[string]string{}
		s.line = n
	}
	if _, dup := s.fields[key]; dup {
		return "", fmt.Errorf("line %d: duplicate %s field", n, name)
	}
	s.fields[key] = strings.TrimSpace(value)
	return key, nil
}
