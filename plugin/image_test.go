package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moby/buildkit/client"
)

func TestDefaultTag(t *testing.T) {
	cases := map[string]string{
		"debian:12":                        "debian:12-patched",
		"debian":                           "debian:latest-patched",
		"127.0.0.1:5000/team/app:1.4":      "127.0.0.1:5000/team/app:1.4-patched",
		"ghcr.io/org/app:v1@sha256:" + hex: "ghcr.io/org/app:v1-patched",
		"ghcr.io/org/app@sha256:" + hex:    "ghcr.io/org/app:sha256-0123456789ab-patched",
	}
	for in, want := range cases {
		got, err := defaultTag(in, "-patched")
		if err != nil || got != want {
			t.Errorf("defaultTag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDefaultTagSuffix(t *testing.T) {
	if got, _ := defaultTag("debian:12", ".1"); got != "debian:12.1" {
		t.Errorf("suffix .1: got %q", got)
	}
	if _, err := defaultTag("debian:12", "/x"); err == nil {
		t.Error("a suffix that makes an invalid tag must fail")
	}
}

func TestValidate(t *testing.T) {
	report := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(report, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		o       imageOptions
		wantErr bool
	}{
		"ok":              {o: imageOptions{image: "debian:12", report: report, progress: "auto", suffix: "-patched"}},
		"no report":       {o: imageOptions{image: "debian:12", progress: "auto"}, wantErr: true},
		"missing report":  {o: imageOptions{image: "debian:12", report: report + ".nope", progress: "auto"}, wantErr: true},
		"report dir":      {o: imageOptions{image: "debian:12", report: filepath.Dir(report), progress: "auto", suffix: "-patched"}},
		"push and output": {o: imageOptions{image: "debian:12", report: report, progress: "auto", push: true, outputs: []string{"type=local,dest=x"}}, wantErr: true},
		"bad progress":    {o: imageOptions{image: "debian:12", report: report, progress: "fancy"}, wantErr: true},
		"bad image":       {o: imageOptions{image: "Debian:12", report: report, progress: "auto"}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.o.validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("validate() = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && exitCode(err) != exitUsage {
				t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
			}
			if err == nil && tc.o.tag != "debian:12-patched" {
				t.Errorf("default tag = %q", tc.o.tag)
			}
		})
	}
}

func TestFrontendAttrs(t *testing.T) {
	o := imageOptions{image: "debian:12", platform: "linux/arm64", noCache: true}
	want := map[string]string{
		"image": "debian:12", "report": "r.json", "context:report": "local:report",
		"platform": "linux/arm64", "no-cache": "",
	}
	if got := o.frontendAttrs("r.json"); !reflect.DeepEqual(got, want) {
		t.Errorf("frontendAttrs = %v, want %v", got, want)
	}
}

func TestExports(t *testing.T) {
	o := imageOptions{tag: "debian:12-patched", push: true}
	got, err := o.exports()
	if err != nil || len(got) != 1 || got[0].Type != client.ExporterImage || got[0].Attrs["push"] != "true" || got[0].Attrs["name"] != "debian:12-patched" {
		t.Errorf("--push exports = %+v, %v", got, err)
	}
	dest := filepath.Join(t.TempDir(), "out.tar")
	o = imageOptions{tag: "x:y", outputs: []string{"type=oci,dest=" + dest}}
	got, err = o.exports()
	if err != nil || len(got) != 1 || got[0].Type != client.ExporterOCI || got[0].Attrs["name"] != "x:y" || got[0].Output == nil {
		t.Errorf("--output exports = %+v, %v", got, err)
	}
	o = imageOptions{outputs: []string{"dest=x"}}
	if _, err := o.exports(); exitCode(err) != exitUsage {
		t.Errorf("bad --output: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(errors.New("boom")) != exitError {
		t.Error("plain errors exit 1")
	}
	if exitCode(usageError{errors.New("bad")}) != exitUsage {
		t.Error("usage errors exit 2")
	}
}

func TestAttestable(t *testing.T) {
	for _, tc := range []struct {
		exports []client.ExportEntry
		want    bool
	}{
		{exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"push": "true"}}}, want: true},
		{exports: []client.ExportEntry{{Type: client.ExporterOCI, Attrs: map[string]string{}}}, want: true},
		{exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"oci-mediatypes": "false"}}}},
		{exports: []client.ExportEntry{{Type: client.ExporterDocker, Attrs: map[string]string{}}}},
		{exports: []client.ExportEntry{{Type: "moby", Attrs: map[string]string{}}}},
		{exports: []client.ExportEntry{{Type: client.ExporterOCI}, {Type: client.ExporterLocal}}},
		{},
	} {
		if got := attestable(tc.exports); got != tc.want {
			t.Errorf("attestable(%+v) = %v, want %v", tc.exports, got, tc.want)
		}
	}
}

func TestOnePlatformOnly(t *testing.T) {
	for _, tc := range []struct {
		exports []client.ExportEntry
		want    bool
	}{
		{exports: []client.ExportEntry{{Type: client.ExporterImage}}},
		{exports: []client.ExportEntry{{Type: client.ExporterOCI}}},
		{exports: []client.ExportEntry{{Type: client.ExporterDocker}}, want: true},
		{exports: []client.ExportEntry{{Type: client.ExporterImage}, {Type: "moby"}}, want: true},
		{},
	} {
		if got := onePlatformOnly(tc.exports); got != tc.want {
			t.Errorf("onePlatformOnly(%+v) = %v, want %v", tc.exports, got, tc.want)
		}
	}
}
