package distros

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Release identifies an operating system release as its os-release file
// (os-release(5)) describes it.
type Release struct {
	// ID is the lower-case OS identifier, e.g. "debian" or "ubuntu".
	ID string
	// IDLike lists the IDs of the OSes this one derives from, closest
	// first, e.g. ["ubuntu", "debian"] for Linux Mint.
	IDLike []string
	// VersionID is the release version without codename, e.g. "12" or
	// "22.04"; empty on rolling releases such as Debian sid.
	VersionID string
	// VersionCodename is the release codename, e.g. "bookworm".
	VersionCodename string
	// PrettyName is the human-readable name, e.g.
	// "Debian GNU/Linux 12 (bookworm)".
	PrettyName string
}

// Is reports whether the release is family itself or derives from it, so
// that a derivative such as Linux Mint (ID_LIKE="ubuntu debian") is handled
// by the family whose package manager it ships. An empty family matches
// nothing, so a Release read from an empty file is no family.
func (r Release) Is(family string) bool {
	return family != "" && (r.ID == family || slices.Contains(r.IDLike, family))
}

// UnsupportedError reports an OS release that darn cannot handle. Match it
// with errors.As to tell it apart from IO or parse failures.
type UnsupportedError struct {
	// OS is the os-release ID, e.g. "ubuntu".
	OS string
	// Version is the os-release VERSION_ID; it may be empty.
	Version string
}

// Error implements error, e.g. "unsupported OS ubuntu 14.04".
func (e *UnsupportedError) Error() string {
	if e.Version == "" {
		return "unsupported OS " + e.OS
	}
	return "unsupported OS " + e.OS + " " + e.Version
}

// ParseOSRelease parses the contents of an os-release file. Lines are
// shell-style KEY=value assignments whose values may be quoted with single
// or double quotes and escaped with backslashes; blank lines and lines
// starting with '#' are skipped. Keys other than those in Release are
// ignored, and a later assignment overrides an earlier one as in a shell.
func ParseOSRelease(dt []byte) (Release, error) {
	var r Release
	s := bufio.NewScanner(bytes.NewReader(dt))
	for n := 1; s.Scan(); n++ {
		key, value, err := parseAssignment(s.Text())
		if err != nil {
			return Release{}, fmt.Errorf("parsing os-release: line %d: %w", n, err)
		}
		r.set(key, value)
	}
	if err := s.Err(); err != nil {
		return Release{}, fmt.Errorf("parsing os-release: %w", err)
	}
	return r, nil
}

func (r *Release) set(key, value string) {
	switch key {
	case "ID":
		r.ID = value
	case "ID_LIKE":
		r.IDLike = strings.Fields(value)
	case "VERSION_ID":
		r.VersionID = value
	case "VERSION_CODENAME":
		r.VersionCodename = value
	case "PRETTY_NAME":
		r.PrettyName = value
	}
}

// parseAssignment splits one line into key and unquoted value. It returns an
// empty key for blank and comment lines.
func parseAssignment(line string) (string, string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", nil
	}
	key, raw, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", fmt.Errorf("missing '=' in %q", line)
	}
	if !validKey(key) {
		return "", "", fmt.Errorf("invalid variable name %q", key)
	}
	value, err := unquote(raw)
	if err != nil {
		return "", "", fmt.Errorf("value of %s: %w", key, err)
	}
	return key, value, nil
}

func validKey(key string) bool {
	for i, c := range key {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return key != ""
}

// unquote evaluates a value as a single shell word: quoted and unquoted parts
// concatenate, and unquoted whitespace ends the word, after which only a
// comment may follow.
func unquote(raw string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\'':
			end := strings.IndexByte(raw[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(raw[i+1 : i+1+end])
			i += end + 1
		case '"':
			n, err := unquoteDouble(raw[i+1:], &b)
			if err != nil {
				return "", err
			}
			i += n + 1
		case '\\':
			// A trailing backslash would continue the line in a shell;
			// os-release values are single-line, so it is dropped.
			if i+1 < len(raw) {
				i++
				b.WriteByte(raw[i])
			}
		case ' ', '\t':
			if rest := strings.TrimLeft(raw[i:], " \t"); rest != "" && rest[0] != '#' {
				return "", fmt.Errorf("unquoted whitespace before %q", rest)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// unquoteDouble copies a double-quoted string's contents up to the closing
// quote into b and returns the index of that quote in s. Inside double
// quotes a backslash escapes only $ ` " \ as in a POSIX shell.
func unquoteDouble(s string, b *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return 0, errors.New("unterminated double quote")
}
