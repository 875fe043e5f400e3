package rpm

import (
	"fmt"
	"strings"
	"unicode"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// Versions orders rpm versions ([epoch:]version[-release]) as rpm does:
// epoch first, then version, then release, each compared segment by
// segment (rpmvercmp), '~' before everything and '^' after.
type Versions struct{}

// Compare returns -1, 0 or +1 as a is older than, equal to or newer than b;
// an error when either is no rpm version, so that garbage in a report never
// wins a comparison.
func (Versions) Compare(a, b string) (int, error) {
	if err := checkVersion(a); err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	if err := checkVersion(b); err != nil {
		return 0, fmt.Errorf("comparing versions %q and %q: %w", a, b, err)
	}
	return rpmversion.NewVersion(a).Compare(rpmversion.NewVersion(b)), nil
}

// checkVersion refuses what rpm would not write as an EVR: an empty
// version, blanks or control characters, a non-numeric epoch, an empty
// version or release around the '-'.
func checkVersion(s string) error {
	if s == "" {
		return fmt.Errorf("invalid version %q: empty", s)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		return fmt.Errorf("invalid version %q: blanks, control or non-ASCII characters", s)
	}
	evr := s
	if epoch, rest, ok := strings.Cut(s, ":"); ok {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" || len(epoch) > 9 {
			return fmt.Errorf("invalid version %q: the epoch is not a number", s)
		}
		evr = rest
	}
	v, r, hasRelease := strings.Cut(evr, "-")
	if v == "" || (hasRelease && (r == "" || strings.Contains(r, "-"))) || strings.Contains(evr, ":") {
		return fmt.Errorf("invalid version %q: want [epoch:]version[-release]", s)
	}
	return nil
}
