package plan

// Package is one package installed in an image, as its package database
// records it.
type Package struct {
	Name    string
	Version string
	Arch    string
	// Source and SourceVersion name the source package; they equal Name
	// and Version when the database does not record a separate source.
	Source        string
	SourceVersion string
	// Status is the database's own state word, e.g. dpkg's
	// "install ok installed".
	Status string
	// Installed is false for entries the database keeps for packages that
	// are removed but not purged (dpkg's config-files state).
	Installed bool
}

// Comparer orders versions the way one package family does (dpkg, rpm,
// apk). Compare returns a negative number when a < b, zero when equal and a
// positive number when a > b. Versions it cannot parse make it return an
// error, so a plan never silently treats garbage as "newer".
type Comparer interface {
	Compare(a, b string) (int, error)
}
