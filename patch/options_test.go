package patch

import (
	"reflect"
	"testing"
	"time"

	"github.com/darn-dev/darn/distros"
)

// Every client renders options with Attrs and the frontend reads them with
// ParseOptions: what goes in comes out.
func TestOptionsRoundTrip(t *testing.T) {
	img, _ := ParseImage("127.0.0.1:5000/team/app:1.4")
	tooling, _ := ParseImage("registry.internal/debian:12-slim@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123")
	cases := map[string]Options{
		"report": {
			Image: img, ReportFile: "scans/r.json", FetchTimeout: 45 * time.Second, IgnoreErrors: true, AttestVEX: true,
			Mirrors:  []distros.Mirror{{Original: "http://a/debian", Mirror: "http://m/debian"}, {Original: "https://b", Mirror: "http://127.0.0.1:8080/b"}},
			BuildKit: BuildKitOptions{Platform: "linux/amd64,linux/arm64", NoCache: true, NetworkMode: "host", SourceDateEpoch: "1700000000"},
		},
		"update-all with tooling": {Image: img, ToolingImage: tooling, UpdateAll: true, PatchedOnly: true, LineageAnnotations: true},
		"patchfile plan":          {ReportFile: ".", BuildKit: BuildKitOptions{Request: RequestPlan}},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseOptions(want.Attrs())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseOptions(Attrs()) =\n%+v\nwant\n%+v\n(attrs %v)", got, want, want.Attrs())
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	cases := []struct {
		name       string
		attrs      map[string]string
		wantImage  string
		wantReport string
	}{
		{name: "minimal", attrs: map[string]string{"image": "debian:12"}, wantImage: "docker.io/library/debian:12", wantReport: "report.json"},
		{name: "no tag gets latest", attrs: map[string]string{"image": "debian"}, wantImage: "docker.io/library/debian:latest", wantReport: "report.json"},
		{name: "build arg", attrs: map[string]string{"build-arg:image": "127.0.0.1:5000/a/b:c", "build-arg:report": "scans/trivy.json"}, wantImage: "127.0.0.1:5000/a/b:c", wantReport: "scans/trivy.json"},
		{name: "option wins over build arg", attrs: map[string]string{"image": "debian:12", "build-arg:image": "ubuntu:22.04"}, wantImage: "docker.io/library/debian:12", wantReport: "report.json"},
		{name: "leading slash", attrs: map[string]string{"image": "debian:12", "report": "/r.json"}, wantImage: "docker.io/library/debian:12", wantReport: "r.json"},
		{name: "image from a Patchfile", attrs: map[string]string{}, wantReport: "report.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOptions(tc.attrs)
			if err != nil {
				t.Fatal(err)
			}
			image := ""
			if o.Image != nil {
				image = o.Image.String()
			}
			if image != tc.wantImage || o.ReportFile != tc.wantReport {
				t.Errorf("got %s %s, want %s %s", o.Image, o.ReportFile, tc.wantImage, tc.wantReport)
			}
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for name, attrs := range map[string]map[string]string{
		"bad image":           {"image": "UPPER:case"},
		"report escapes":      {"image": "debian:12", "report": "../etc/passwd"},
		"bad mirror":          {"repo-mirror": `http://a=http://m/debian\nSigned-By:x`},
		"bad bool":            {"ignore-errors": "maybe"},
		"timeout below 1s":    {"fetch-timeout": "500ms"},
		"timeout zero":        {"fetch-timeout": "0"},
		"timeout not a value": {"fetch-timeout": "soon"},
		"bad tooling image":   {"tooling-image": "::"},
	} {
		if _, err := ParseOptions(attrs); err == nil {
			t.Errorf("%s: want an error for %v", name, attrs)
		}
	}
	o, err := ParseOptions(map[string]string{"fetch-timeout": "10"})
	if err != nil || o.FetchTimeout != 10*time.Second {
		t.Errorf("fetch-timeout=10: %v, %v", o.FetchTimeout, err)
	}
}
