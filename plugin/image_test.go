package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/darn-dev/darn/distros"
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

// Every --repo-mirror flag is validated as the frontend validates the
// option: the issue 9 exploit used to pass, as did any other scheme.
func TestValidateRepoMirror(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string // the error, in part; "" for none
	}{
		{flags: []string{"http://deb.darn-unreachable.invalid/debian=http://127.0.0.1:8080/debian/", "https://a/x=https://m/x"}},
		{flags: []string{"http://deb.darn-unreachable.invalid/debian=" + mirrorExploit}, want: `--repo-mirror "http://deb.darn-unreachable.invalid/debian=http://m/debian\\nhttp://m/debian\\040file:/x\\nSigned-By:\\040Trusted:yes": repository mirror "http://m/debian\\n`},
		{flags: []string{"http://a=http://b\nSigned-By: x"}, want: `character '\n'`},
		{flags: []string{"http://a=file:/etc"}, want: "only http:// and https://"},
		{flags: []string{"http://a=http://u:p@m"}, want: "credentials"},
		{flags: []string{"http://a=http://m/x,http://b=http://n"}, want: `character ','`},
		{flags: []string{"http://a"}, want: "want ORIGINAL=MIRROR"},
	} {
		o := imageOptions{image: "debian:12", updateAll: true, progress: "auto", suffix: "-patched", repoMirrors: tc.flags}
		err := o.validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("validate(%q) = %v", tc.flags, err)
		case tc.want == "" && distros.FormatMirrors(o.mirrors) != "http://deb.darn-unreachable.invalid/debian=http://127.0.0.1:8080/debian,https://a/x=https://m/x":
			t.Errorf("validate(%q): mirrors %v", tc.flags, o.mirrors)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != exitUsage):
			t.Errorf("validate(%q) = %v, want a usage error saying %s", tc.flags, err, tc.want)
		}
	}
}

func TestFrontendAttrs(t *testing.T) {
	o := imageOptions{image: "debian:12", platform: "linux/arm64", noCache: true, fetchTimeout: 5 * time.Second, mirrors: []distros.Mirror{
		{Original: "http://a/x", Mirror: "http://m/x"}, {Original: "https://b", Mirror: "https://n/b"},
	}}
	want := map[string]string{
		"image": "docker.io/library/debian:12", "report": "r.json", "context:report": "local:report", "fetch-timeout": "5s",
		"platform": "linux/arm64", "no-cache": "", "repo-mirror": "http://a/x=http://m/x,https://b=https://n/b",
	}
	opts, err := o.patchOptions("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.Attrs(); !reflect.DeepEqual(got, want) {
		t.Errorf("attrs = %v, want %v", got, want)
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

// A builder that goes away mid-patch is named, with what to do.
func TestExplainLostBuilder(t *testing.T) {
	info := builderInfo{}
	err := explain(fmt.Errorf("solving: %w", status.Error(codes.Unavailable, "error reading from server: EOF")), info)
	if !strings.Contains(err.Error(), "lost the connection to the builder") || !strings.Contains(err.Error(), "run the command again") {
		t.Errorf("explain = %v", err)
	}
	other := errors.New("failed to solve: exit code: 1")
	if got := explain(other, info); got.Error() != other.Error() {
		t.Errorf("explain changed an unrelated error: %v", got)
	}
}
