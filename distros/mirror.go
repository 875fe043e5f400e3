package distros

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Mirror replaces a repository URL prefix while patching: the package
// manager fetches from Mirror what the image's sources say to fetch from
// Original. The image's own sources and keys are left as they are, so
// everything fetched from a mirror is still verified against the keys the
// image trusts.
//
// Make one with NewMirror or ParseMirror: both sides are validated there,
// at every entry point (flags, frontend options, source-policy rules), so
// that a value can never carry anything but a URL into a build step.
type Mirror struct {
	Original string `json:"original"`
	Mirror   string `json:"mirror"`
}

// MirrorError says why a repository mirror value was refused.
type MirrorError struct {
	// Value is the refused value, as given.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements error.
func (e *MirrorError) Error() string {
	return fmt.Sprintf("repository mirror %q: %s", e.Value, e.Reason)
}

// NewMirror validates both URLs and returns the mirror. A final slash on
// either side is dropped (sources name a repository with or without one)
// before the check, so that what is returned is what was checked.
func NewMirror(original, mirror string) (Mirror, error) {
	m := Mirror{Original: strings.TrimRight(original, "/"), Mirror: strings.TrimRight(mirror, "/")}
	for _, u := range []string{m.Original, m.Mirror} {
		if err := checkRepoURL(u); err != nil {
			return Mirror{}, err
		}
	}
	return m, nil
}

// ParseMirror reads one "ORIGINAL=MIRROR" pair.
func ParseMirror(pair string) (Mirror, error) {
	orig, mirror, ok := strings.Cut(pair, "=")
	if !ok {
		return Mirror{}, &MirrorError{Value: pair, Reason: "want ORIGINAL=MIRROR, e.g. http://deb.example/debian=http://mirror.local/debian"}
	}
	return NewMirror(orig, mirror)
}

// ParseMirrors reads a comma-separated list of ORIGINAL=MIRROR pairs, the
// form of the frontend's repo-mirror option. Empty items are skipped.
func ParseMirrors(list string) ([]Mirror, error) {
	var out []Mirror
	for pair := range strings.SplitSeq(list, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		m, err := ParseMirror(pair)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// String renders the mirror as ParseMirror reads it.
func (m Mirror) String() string { return m.Original + "=" + m.Mirror }

// FormatMirrors renders mirrors as ParseMirrors reads them.
func FormatMirrors(ms []Mirror) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

// SortMirrors returns the mirrors with the longest original first, so that
// a more specific prefix is replaced before a shorter one that it starts
// with; mirrors of equal length keep their order (the first one wins).
func SortMirrors(ms []Mirror) []Mirror {
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(a, b Mirror) int { return len(b.Original) - len(a.Original) })
	return out
}

// checkRepoURL accepts absolute http(s) URLs with a host and a path made
// only of unreserved characters, "/", ":", "@", "+", "[", "]" and percent
// escapes. A mirror ends up in a line of apt's sources, and on its way
// through scripts: backslashes, quotes, whitespace and control characters
// could reshape that line (awk -v turns "\n" into a newline), a comma or
// an equals sign would split the ORIGINAL=MIRROR list, and shell or sed
// metacharacters ("$", "&", ";", "*", "!", "(", ")") have no business in
// a repository path. A query or fragment would make every index and
// package fetch the same URL, and credentials would be written into the
// build.
func checkRepoURL(s string) error {
	if s == "" {
		return &MirrorError{Value: s, Reason: "empty URL"}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !urlRune(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return &MirrorError{Value: s, Reason: fmt.Sprintf("character %q at byte %d is not allowed in a repository URL", r, i)}
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return &MirrorError{Value: s, Reason: "only http:// and https:// URLs are allowed"}
	}
	if err := checkEscapes(s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return &MirrorError{Value: s, Reason: strings.TrimPrefix(err.Error(), fmt.Sprintf("parse %q: ", s))}
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return &MirrorError{Value: s, Reason: "the URL names no host"}
	case u.User != nil:
		return &MirrorError{Value: s, Reason: "credentials in the URL would be written into the build; use the package manager's auth configuration"}
	}
	return nil
}

// checkEscapes refuses malformed percent escapes and escapes of
// whitespace, control characters, backslashes and quotes: a tool that
// decodes the URL must not find a line break or a quote in it either.
func checkEscapes(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return &MirrorError{Value: s, Reason: fmt.Sprintf("%q at byte %d is not a percent escape", s[i:min(i+3, len(s))], i)}
		}
		if b := unhex(s[i+1])<<4 | unhex(s[i+2]); b <= ' ' || b == 0x7f || strings.IndexByte("\\\"'`", b) >= 0 {
			return &MirrorError{Value: s, Reason: fmt.Sprintf("escape %s at byte %d stands for %q, which is not allowed in a repository URL", s[i:i+3], i, rune(b))}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// urlRune reports whether r may appear in a repository URL.
func urlRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("-._~:/@+[]%", r)
}
