package distros

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
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
// either side is dropped: sources name a repository with or without one.
func NewMirror(original, mirror string) (Mirror, error) {
	for _, u := range []string{original, mirror} {
		if err := checkRepoURL(u); err != nil {
			return Mirror{}, err
		}
	}
	return Mirror{Original: strings.TrimRight(original, "/"), Mirror: strings.TrimRight(mirror, "/")}, nil
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

// checkRepoURL accepts absolute http(s) URLs made only of the characters
// RFC 3986 allows, except the comma (it separates pairs) and the equals
// sign (it separates the two sides). Backslashes, quotes, whitespace and
// control characters are refused outright: a mirror is written into apt's
// sources, whose lines such characters could otherwise reshape.
func checkRepoURL(s string) error {
	if s == "" {
		return &MirrorError{Value: s, Reason: "empty URL"}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !urlRune(r) }); i >= 0 {
		return &MirrorError{Value: s, Reason: fmt.Sprintf("character %q at byte %d is not allowed in a repository URL", s[i:i+1], i)}
	}
	u, err := url.Parse(s)
	if err != nil {
		return &MirrorError{Value: s, Reason: err.Error()}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &MirrorError{Value: s, Reason: "only http:// and https:// URLs are allowed"}
	}
	if u.Host == "" {
		return &MirrorError{Value: s, Reason: "the URL names no host"}
	}
	if u.User != nil {
		return &MirrorError{Value: s, Reason: "credentials in the URL would be written into the build; use the package manager's auth configuration"}
	}
	return nil
}

// urlRune reports whether r may appear in a repository URL.
func urlRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("-._~:/?#[]@!$&()*+;%", r)
}
