package deb

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

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
	if err == nil {
		err = checkSyntax(s)
	}
	if err != nil {
		return debversion.Version{}, fmt.Errorf("invalid version %q: %w", s, err)
	}
	return v, nil
}

// maxDigits is the longest number, leading zeros aside, that
// go-deb-version compares exactly: it reads each run of digits into an
// int, so longer runs saturate and would compare equal.
const maxDigits = 18

// checkSyntax rejects what go-deb-version accepts but dpkg rejects or
// flags as bad syntax: an empty revision ("1.0-"), an epoch above dpkg's
// limit, and characters other than ASCII letters, digits and ".+~-:" in
// the upstream version or ".+~" in the revision ('_', non-ASCII letters).
// It also rejects numbers too long to compare exactly, which dpkg reads
// but go-deb-version would misorder. s has passed debversion.NewVersion.
func checkSyntax(s string) error {
	rest := strings.TrimSpace(s)
	if epoch, after, ok := strings.Cut(rest, ":"); ok {
		if n, err := strconv.Atoi(epoch); err != nil || n > math.MaxInt32 {
			return fmt.Errorf("epoch %s is too big", epoch)
		}
		rest = after
	}
	upstream, revision := rest, ""
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		upstream, revision = rest[:i], rest[i+1:]
		if revision == "" {
			return errors.New("revision is empty")
		}
	}
	if err := checkChars(upstream, ".+~-:"); err != nil {
		return fmt.Errorf("upstream version: %w", err)
	}
	if err := checkChars(revision, ".+~"); err != nil {
		return fmt.Errorf("revision: %w", err)
	}
	for run := range strings.FieldsFuncSeq(rest, func(c rune) bool { return c < '0' || c > '9' }) {
		if len(strings.TrimLeft(run, "0")) > maxDigits {
			return fmt.Errorf("number %s has more than %d digits", run, maxDigits)
		}
	}
	return nil
}

// checkChars rejects characters other than ASCII letters, digits and
// those of symbols.
func checkChars(s, symbols string) error {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.ContainsRune(symbols, c)) {
			return fmt.Errorf("invalid character %q", c)
		}
	}
	return nil
}

// checkDBVersion rejects a version that dpkg refuses to read from its
// database, with dpkg's words (parseversion in lib/dpkg/parsehelp.c).
// What dpkg only warns about there, such as a first character that is no
// digit, passes; Compare rejects it later. v has no surrounding blanks.
func checkDBVersion(v string) error {
	if v == "" {
		return errors.New("version string is empty")
	}
	// A continuation line puts a newline in the value, where dpkg keeps
	// the line's leading blank.
	if strings.ContainsAny(v, " \t\n") {
		return errors.New("version string has embedded spaces")
	}
	if epoch, after, ok := strings.Cut(v, ":"); ok {
		if err := checkEpoch(epoch); err != nil {
			return err
		}
		if after == "" {
			return errors.New("nothing after colon in version number")
		}
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		if i == len(v)-1 {
			return errors.New("revision number is empty")
		}
		v = v[:i]
	}
	if v == "" {
		return errors.New("version number is empty")
	}
	return nil
}

// checkEpoch reads an epoch as dpkg does, with strtol: an optional sign,
// then digits, up to INT_MAX.
func checkEpoch(epoch string) error {
	digits := epoch
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	n := len(digits) - len(strings.TrimLeft(digits, "0123456789"))
	switch {
	case n == 0:
		return errors.New("epoch in version is empty")
	case n < len(digits):
		return errors.New("epoch in version is not number")
	case epoch[0] == '-' && strings.Trim(digits, "0") != "":
		return errors.New("epoch in version is negative")
	}
	if e, err := strconv.ParseInt(digits, 10, 64); err != nil || e > math.MaxInt32 {
		return errors.New("epoch in version is too big")
	}
	return nil
}
