package deb

import (
	"cmp"
	"fmt"

	debversion "github.com/knqyf263/go-deb-version"
)

// Versions orders Debian package versions as dpkg does (deb-version(7)):
// epoch first, then upstream version, then revision, with '~' sorting
// before everything, even the end of the string. It implements
// policy.Comparer.
type Versions struct{}

// Compare returns -1, 0 or +1 as a is older than, equal to or newer than b.
// It returns an error when either version is not a valid Debian version,
// so that a malformed fix version in a report never wins a comparison.
func (Versions) Compare(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	// go-deb-version returns the raw difference of the first differing
	// component; normalise it to the sign only.
	return cmp.Compare(va.Compare(vb), 0), nil
}

func parseVersion(s string) (debversion.Version, error) {
	v, err := debversion.NewVersion(s)
	if err != nil {
		return debversion.Version{}, fmt.Errorf("invalid version %q: %w", s, err)
	}
	return v, nil
}
