package report

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMalformed(t *testing.T) {
	_, err := Parse(readTestdata(t, "trivy-malformed.json"))
	locErr, ok := errors.AsType[*LocationError](err)
	if !ok {
		t.Fatalf("err = %v, want a *LocationError", err)
	}
	// The second comma of `  "ArtifactName": "debian:12",,` on line 3.
	if locErr.Line != 3 || locErr.Column != 31 {
		t.Errorf("location = %d:%d, want 3:31", locErr.Line, locErr.Column)
	}
	if want := "parsing report: line 3, column 31: invalid character ','"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
}

func TestParseUnknownFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"blank", " \n"},
		{"number", "42"},
		{"string", `"trivy"`},
		{"empty object", "{}"},
		{"other object", `{"name": "x", "results": 1}`},
		{"array of numbers", "[1, 2]"},
		{"array without Target", `[{"Type": "alpine"}]`},
		{"future trivy schema", `{"SchemaVersion": 3, "Results": []}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("err = %v, want ErrUnknownFormat", err)
			}
		})
	}
}

func TestParseLocatesTypeErrors(t *testing.T) {
	in := "{\n  \"SchemaVersion\": 2,\n  \"Results\": \"oops\"\n}"
	_, err := Parse([]byte(in))
	locErr, ok := errors.AsType[*LocationError](err)
	if !ok {
		t.Fatalf("err = %v, want a *LocationError", err)
	}
	if locErr.Line != 3 {
		t.Errorf("line = %d, want 3 (err %v)", locErr.Line, err)
	}
	if !strings.HasPrefix(err.Error(), "parsing trivy report: line 3, column ") {
		t.Errorf("err = %q, want the trivy prefix and a location", err)
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		in       string
		offset   int64
		line, co int
	}{
		{`{"a":x}`, 6, 1, 6},
		{"{\n \"a\": 1,\n}", 12, 3, 1},
		{"ab\ncd", 5, 2, 2},
		{"", 0, 1, 1},
		{"abc", 0, 1, 1},
		{"abc", 99, 1, 3},
	}
	for _, tc := range tests {
		line, col := position([]byte(tc.in), tc.offset)
		if line != tc.line || col != tc.co {
			t.Errorf("position(%q, %d) = %d:%d, want %d:%d", tc.in, tc.offset, line, col, tc.line, tc.co)
		}
	}
}
