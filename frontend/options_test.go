package frontend

import (
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		name       string
		opts       map[string]string
		wantImage  string
		wantReport string
		wantErr    bool
	}{
		{name: "minimal", opts: map[string]string{"image": "debian:12"}, wantImage: "docker.io/library/debian:12", wantReport: "report.json"},
		{name: "no tag gets latest", opts: map[string]string{"image": "debian"}, wantImage: "docker.io/library/debian:latest", wantReport: "report.json"},
		{name: "build arg", opts: map[string]string{"build-arg:image": "127.0.0.1:5000/a/b:c", "build-arg:report": "scans/trivy.json"}, wantImage: "127.0.0.1:5000/a/b:c", wantReport: "scans/trivy.json"},
		{name: "option wins over build arg", opts: map[string]string{"image": "debian:12", "build-arg:image": "ubuntu:22.04"}, wantImage: "docker.io/library/debian:12", wantReport: "report.json"},
		{name: "leading slash", opts: map[string]string{"image": "debian:12", "report": "/r.json"}, wantImage: "docker.io/library/debian:12", wantReport: "r.json"},
		{name: "image from a Patchfile", opts: map[string]string{}, wantReport: "report.json"},
		{name: "bad image", opts: map[string]string{"image": "UPPER:case"}, wantErr: true},
		{name: "report escapes", opts: map[string]string{"image": "debian:12", "report": "../etc/passwd"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.opts)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
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

func TestParseFetchTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "45s": 45 * time.Second, "2m": 2 * time.Minute, "10": 10 * time.Second} {
		o, err := parseOptions(map[string]string{"fetch-timeout": v})
		if err != nil || o.FetchTimeout != want {
			t.Errorf("fetch-timeout=%q: %v, %v; want %v", v, o.FetchTimeout, err, want)
		}
	}
	for _, bad := range []string{"0", "-1s", "500ms", "soon"} {
		if _, err := parseOptions(map[string]string{"fetch-timeout": bad}); err == nil {
			t.Errorf("fetch-timeout=%q must fail", bad)
		}
	}
}
