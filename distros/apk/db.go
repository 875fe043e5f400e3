package apk

import (
	"bytes"
	"context"
	"fmt"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// DatabasePaths are where apk keeps its installed database: lib/apk/db
// on Alpine, usr/lib/apk/db on merged-/usr images (Wolfi, Chainguard),
// where lib is often a link to usr/lib.
var DatabasePaths = []string{"/lib/apk/db/installed", "/usr/lib/apk/db/installed"}

// Entry is one package record of the installed database: its fields, and
// its lines as they were, so that a rewrite keeps the records it does not
// change byte for byte.
type Entry struct {
	Name, Version, Arch, Origin string
	// Line is the record's first line number in the file, for messages.
	Line  int
	Lines []string
}

// ParseDatabase reads apk's installed database: records of "K:value"
// lines separated by blank lines, each with a package name (P) and
// version (V). Anything else is an error naming the line, never a guess.
func ParseDatabase(dt []byte) ([]Entry, error) {
	var (
		out  []Entry
		cur  Entry
		seen = map[string]int{}
	)
	flush := func() error {
		if len(cur.Lines) == 0 {
			return nil
		}
		if err := cur.check(seen); err != nil {
			return err
		}
		if cur.Name != "" {
			seen[cur.Name] = cur.Line
		}
		out = append(out, cur)
		cur = Entry{}
		return nil
	}
	for n, line := range bytes.Split(dt, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if err := cur.add(n+1, string(line)); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// add reads one line of a record.
func (e *Entry) add(n int, line string) error {
	if len(line) < 2 || line[1] != ':' {
		return fmt.Errorf("line %d: %q is not a KEY:value line of an apk database", n, truncate(line))
	}
	if len(e.Lines) == 0 {
		e.Line = n
	}
	e.Lines = append(e.Lines, line)
	switch v := line[2:]; line[0] {
	case 'P':
		e.Name = v
	case 'V':
		e.Version = v
	case 'A':
		e.Arch = v
	case 'o':
		e.Origin = v
	}
	return nil
}

// check refuses a name listed twice or an invalid version. A record
// without a name or version is kept (a rewrite keeps it as it was) but is
// no package: apk and Trivy skip such records too.
func (e Entry) check(seen map[string]int) error {
	if e.Name == "" || e.Version == "" {
		return nil
	}
	if seen[e.Name] != 0 {
		return fmt.Errorf("line %d: package %s is listed twice (first at line %d)", e.Line, e.Name, seen[e.Name])
	}
	if _, err := parseVersion(e.Version); err != nil {
		return fmt.Errorf("line %d: package %s: %w", e.Line, e.Name, err)
	}
	return nil
}

// truncate shortens a line quoted in an error.
func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// Packages returns the database's packages for planning: the source
// package is the origin (o:), as Trivy and Grype report it. Records
// without a name or version are left out.
func Packages(entries []Entry) []plan.Package {
	out := make([]plan.Package, 0, len(entries))
	for _, e := range entries {
		if e.Name == "" || e.Version == "" {
			continue
		}
		src := e.Origin
		if src == "" {
			src = e.Name
		}
		out = append(out, plan.Package{Name: e.Name, Version: e.Version, Arch: e.Arch, Source: src, SourceVersion: e.Version, Installed: true})
	}
	return out
}

// Installer names darn's apk installer as the image's package manager: it
// runs from the tooling image whatever the image holds.
const Installer = "darn-apk"

// Installed reads the image's installed database. An apk image never
// patches itself: darn's installer does, from darn's image, so that none
// of the image's code runs and images without apk or a shell are patched
// the same way.
func (Family) Installed(ctx context.Context, root distros.FS) (distros.Installed, error) {
	dt, name, err := distros.ReadFirst(ctx, root, DatabasePaths...)
	if err != nil {
		return distros.Installed{}, fmt.Errorf("reading the apk database: %w", err)
	}
	entries, err := ParseDatabase(dt)
	if err != nil {
		return distros.Installed{}, fmt.Errorf("reading %s: %w", name, err)
	}
	return distros.Installed{Packages: Packages(entries), Manager: Installer, Database: name}, nil
}
