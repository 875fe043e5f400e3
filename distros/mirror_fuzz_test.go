package distros

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseMirrors checks what every consumer of a repo-mirror value relies
// on: an accepted mirror holds no character that could reshape a line of
// apt's sources or split the list, names an http(s) host, and survives
// FormatMirrors unchanged.
func FuzzParseMirrors(f *testing.F) {
	// More seeds, the exploits of issue 9 among them, are in
	// testdata/fuzz/FuzzParseMirrors.
	for _, seed := range []string{"http://deb.example/debian=http://127.0.0.1:8080/debian", "http://a=http://u:p@b", ",,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		ms, err := ParseMirrors(list)
		if err != nil {
			return
		}
		for _, m := range ms {
			checkFuzzedURL(t, m.Original)
			checkFuzzedURL(t, m.Mirror)
		}
		back, err := ParseMirrors(FormatMirrors(ms))
		if err != nil {
			t.Fatalf("ParseMirrors(%q) = %q, which does not parse back: %v", list, FormatMirrors(ms), err)
		}
		if len(ms) > 0 && !reflect.DeepEqual(back, ms) {
			t.Fatalf("ParseMirrors(%q) = %+v, parsed back as %+v", list, ms, back)
		}
	})
}

func checkFuzzedURL(t *testing.T, s string) {
	t.Helper()
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII || strings.ContainsRune("\\,=\"'`", r)
	}); i >= 0 {
		t.Fatalf("accepted %q, with %q at byte %d", s, s[i:], i)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		t.Fatalf("accepted %q, which is not an http(s) URL with a host and no credentials (%v)", s, err)
	}
	if dec, err := url.PathUnescape(s); err != nil || strings.ContainsAny(dec, "\n\r\\\"'") {
		t.Fatalf("accepted %q, which decodes to %q (%v)", s, dec, err)
	}
	if strings.HasSuffix(s, "/") {
		t.Fatalf("accepted %q with its final slash", s)
	}
}
