package report

import (
	"errors"
	"reflect"
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

func TestParseByteOrderMark(t *testing.T) {
	for _, file := range []string{"trivy-v2.json", "grype-deb.json"} {
		t.Run(file, func(t *testing.T) {
			dt := readTestdata(t, file)
			want, err := Parse(dt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(append([]byte("\xef\xbb\xbf"), dt...))
			if err != nil {
				t.Fatalf("with a byte-order mark: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with a byte-order mark\ngot:  %s\nwant: %s", toJSON(t, got), toJSON(t, want))
			}
		})
	}
	// Positions count from after the mark, as an editor shows them.
	_, err := Parse(append([]byte("\xef\xbb\xbf"), readTestdata(t, "trivy-malformed.json")...))
	if locErr, ok := errors.AsType[*LocationError](err); !ok || locErr.Line != 3 || locErr.Column != 31 {
		t.Errorf("err = %v, want a *LocationError at 3:31", err)
	}
}

func TestParseUnknownFormatMessage(t *testing.T) {
	const readable = "darn reads Trivy JSON (--format json) or Grype JSON (-o json) reports"
	tests := []struct {
		name, in, want string
	}{
		{"other object", `{"name": "x"}`, "parsing report: unknown report format: " + readable},
		{"array", "[1]", "parsing report: unknown report format: " + readable},
		{"number", "42", "parsing report: unknown report format: " + readable},
		{"empty", "\n", "parsing report: unknown report format: the input is empty; " + readable},
		{
			"CycloneDX", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": []}`,
			"parsing report: unknown report format: this is a CycloneDX document; " + readable,
		},
		{
			"SPDX", `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}`,
			"parsing report: unknown report format: this is an SPDX document; " + readable,
		},
		{
			"SARIF by version", `{"version": "2.1.0", "runs": []}`,
			"parsing report: unknown report format: this is a SARIF document; " + readable,
		},
		{
			"SARIF by schema", `{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [{}]}`,
			"parsing report: unknown report format: this is a SARIF document; " + readable,
		},
		{
			"OpenVEX", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}`,
			"parsing report: unknown report format: this is an OpenVEX document; " + readable,
		},
		{"runs alone", `{"runs": []}`, "parsing report: unknown report format: " + readable},
		{"bomFormat of another kind", `{"bomFormat": "other"}`, "parsing report: unknown report format: " + readable},
		{"UTF-16", "\xff\xfe{\x00}\x00", "parsing report: unknown report format: the input is UTF-16 text, as Windows PowerShell's > writes it; " +
			"save the report as UTF-8 (trivy --output FILE, grype --file FILE); " + readable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("err = %v, want ErrUnknownFormat", err)
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q\nwant  %q", err, tc.want)
			}
		})
	}
}
