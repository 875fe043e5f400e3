package distros

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMirrors(t *testing.T) {
	cases := map[string][]Mirror{
		"http://a.example/debian/=http://127.0.0.1:8080/debian/, https://b.example/x=http://m/y": {
			{Original: "http://a.example/debian", Mirror: "http://127.0.0.1:8080/debian"},
			{Original: "https://b.example/x", Mirror: "http://m/y"},
		},
		"http://[::1]:8080/debian=http://m/~user/debian+ports/%C3%A9": {
			{Original: "http://[::1]:8080/debian", Mirror: "http://m/~user/debian+ports/%C3%A9"},
		},
		"":    nil,
		" , ": nil,
	}
	for in, want := range cases {
		got, err := ParseMirrors(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseMirrors(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// The exploit strings of issue 9: each would reshape a line of apt's
// sources, or fetch from somewhere that is not an http(s) repository.
func TestParseMirrorsRefuses(t *testing.T) {
	cases := map[string]string{ // value: the reason, in part
		`http://deb.darn-unreachable.invalid/debian=http://m/debian\nhttp://m/debian\040file:/x\nSigned-By:\040Trusted:yes`: `character '\\' at byte 15`,
		"http://a=http://b\nSigned-By: x":        `character '\n'`,
		"http://a=http://b c":                    `character ' '`,
		"http://a=http://b\tc":                   `character '\t'`,
		"http://a=http://b\x00":                  `character '\x00'`,
		"http://a=http://b/\u00a0x":              `character '\u00a0' at byte 9`,
		`http://a=http://b/"x`:                   `character '"'`,
		"http://a=http://b/'x":                   `character '\''`,
		"http://a=http://b/`id`":                 "character '`'",
		"http://a=http://b/$(id)":                `character '$'`,
		"http://a=http://b/x&y":                  `character '&'`,
		"http://a=http://b/x;y":                  `character ';'`,
		"http://a=http://b/x?y":                  `character '?'`,
		"http://a=http://b/x#y":                  `character '#'`,
		"http://a=http://b=c":                    `character '='`,
		"http://a":                               "want ORIGINAL=MIRROR",
		"ftp://a=http://b":                       "only http:// and https://",
		"http://a=file:/x":                       "only http:// and https://",
		"http://a=HTTP://b":                      "only http:// and https://",
		"http://a=//b":                           "only http:// and https://",
		"http://a=":                              "empty URL",
		"=http://b":                              "empty URL",
		"http://a=http:///x":                     "names no host",
		"http://a=http://:80/x":                  "names no host",
		"http://a=http://u:p@b":                  "credentials",
		"http://a=http://b/%0aSigned-By:%20x":    `escape %0a at byte 9 stands for '\n'`,
		"http://a=http://b/%5c":                  `escape %5c at byte 9 stands for '\\'`,
		"http://a=http://b/%22":                  `stands for '"'`,
		"http://a=http://b/%2":                   `"%2" at byte 9 is not a percent escape`,
		"http://a=http://b/%zz":                  "not a percent escape",
		"http://a=http://b:port/":                "invalid port",
		"http://a=http://b/,http://c=http://d e": `character ' '`,
	}
	for in, want := range cases {
		got, err := ParseMirrors(in)
		if err == nil {
			t.Errorf("ParseMirrors(%q) = %+v, want an error", in, got)
			continue
		}
		var me *MirrorError
		if !errors.As(err, &me) || !strings.Contains(me.Reason, want) {
			t.Errorf("ParseMirrors(%q) = %v, want a *MirrorError saying %q", in, err, want)
		}
	}
}

func TestFormatMirrors(t *testing.T) {
	in := "http://a/x=http://m/x,https://b/y/=https://m/y/"
	ms, err := ParseMirrors(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatMirrors(ms), "http://a/x=http://m/x,https://b/y=https://m/y"; got != want {
		t.Errorf("FormatMirrors = %q, want %q", got, want)
	}
}
