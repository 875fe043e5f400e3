package apk

import (
	"fmt"
	"strings"
	"unicode"

	apkversion "github.com/knqyf263/go-apk-version"
)

// Versions orders apk versions (1.2.3_rc1-r4: numbers, a letter, suffixes
// _alpha _beta _pre _rc before the release and _cvs _svn _git _hg _p after
// it, then the -rN revision) with the comparator Trivy uses for apk.
type Versions struct{}

// Compare returns -1, 0 or +1 as a is older than, equal to or newer than
// b; an error when either is no apk version, so that garbage in a report
// never wins a comparison.
func (Versions) Compare(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	return va.Compare(vb), nil
}

// parseVersion refuses blanks, control and non-ASCII characters, which
// no apk version has, before the comparator's own checks.
func parseVersion(s string) (apkversion.Version, error) {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		return "", fmt.Errorf("invalid apk version %q", s)
	}
	v, err := apkversion.NewVersion(s)
	if err != nil {
		return "", fmt.Errorf("invalid apk version %q: %w", s, err)
	}
	return v, nil
}
