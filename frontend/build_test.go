package frontend

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	apicapspb "github.com/moby/buildkit/util/apicaps/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

const (
	testOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"
	testConfig    = `{"architecture":"amd64","os":"linux","config":{"User":"1000","Env":["PATH=/usr/bin"],"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],"WorkingDir":"/app","Labels":{"team":"darn"},"ExposedPorts":{"8080/tcp":{}},"StopSignal":"SIGTERM"},"rootfs":{"type":"layers","diff_ids":["sha256:aaaa"]},"history":[{"created_by":"ADD rootfs.tar /"}]}`
	testReport    = `{"SchemaVersion":2,"ArtifactName":"debian:12","Metadata":{"OS":{"Family":"debian","Name":"12.5"}},"Results":[{"Target":"debian:12 (debian 12.5)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[
{"VulnerabilityID":"CVE-2025-1","PkgName":"libc6","InstalledVersion":"2.36-9+deb12u9","FixedVersion":"2.36-9+deb12u10"},
{"VulnerabilityID":"CVE-2025-2","PkgName":"libc6","InstalledVersion":"2.36-9+deb12u9","FixedVersion":"2.36-9+deb12u8"},
{"VulnerabilityID":"CVE-2025-3","PkgName":"tar","InstalledVersion":"1.34+dfsg-1.2","FixedVersion":""},
{"VulnerabilityID":"CVE-2025-4","PkgName":"openssl","InstalledVersion":"3.0.15-1~deb12u1","FixedVersion":"3.0.16-1~deb12u1"}]}]}`
)

func status(pkgs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pkgs); i += 2 {
		b.WriteString("Package: " + pkgs[i] + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + pkgs[i+1] + "\n\n")
	}
	return b.String()
}

func newFake(opts map[string]string) *fakeClient {
	return &fakeClient{
		opts:        opts,
		imageConfig: testConfig,
		files: map[string]string{
			"/etc/os-release":      testOSRelease,
			"/var/lib/dpkg/status": status("libc6", "2.36-9+deb12u9", "tar", "1.34+dfsg-1.2"),
			"/usr/bin/apt-get":     "",
			"/usr/bin/dpkg":        "",
			"/bin/sh":              "",
		},
		report:      testReport,
		afterStatus: status("libc6", "2.36-9+deb12u10", "libc-bin", "2.36-9+deb12u10", "tar", "1.34+dfsg-1.2"),
	}
}

var defaultOpts = map[string]string{"image": "debian:12", "context:report": "local:report"}

func TestBuildPatches(t *testing.T) {
	f := newFake(defaultOpts)
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &cfg); err != nil {
		t.Fatalf("result has no image config: %v", err)
	}
	if cfg.Config.User != "1000" || cfg.Config.WorkingDir != "/app" || cfg.Config.Labels["team"] != "darn" || cfg.Config.StopSignal != "SIGTERM" {
		t.Errorf("config not preserved: %+v", cfg.Config)
	}
	// darn's lineage names the original; the image-spec's base labels
	// (the original had none) are not darn's to set.
	if l := cfg.Config.Labels; l[patch.KeyOriginalName] != "debian:12" || !strings.HasPrefix(l[patch.KeyOriginalDigest], "sha256:") ||
		l[patch.KeyOriginalLayers] != "1" || !strings.Contains(l[patch.KeyFixed], `"package":"libc6","version":"2.36-9+deb12u10","vulnerabilities":["CVE-2025-1","CVE-2025-2"]`) {
		t.Errorf("lineage labels: %v", l)
	}
	if _, ok := cfg.Config.Labels["org.opencontainers.image.base.name"]; ok {
		t.Errorf("darn set the base-image label: %v", cfg.Config.Labels)
	}
	if len(cfg.History) != 2 || !strings.Contains(cfg.History[1].CreatedBy, "libc6 2.36-9+deb12u9 -> 2.36-9+deb12u10") {
		t.Errorf("history does not record the patch: %+v", cfg.History)
	}
	if _, ok := res.Metadata[exptypes.ExporterImageBaseConfigKey]; !ok {
		t.Error("result has no base image config")
	}
	if _, ok := res.Metadata[exptypes.ExporterPlatformsKey]; !ok {
		t.Error("result has no platforms")
	}
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata[patch.MetadataSummaryKey], &sums); err != nil || len(sums) != 1 {
		t.Fatalf("summary: %v %s", err, res.Metadata[patch.MetadataSummaryKey])
	}
	if got := sums[0].Changes; len(got) != 2 || got[0].Name != "libc-bin" || got[0].Planned || got[1].Name != "libc6" || !got[1].Planned {
		t.Errorf("changes = %+v", got)
	}
	if !strings.Contains(strings.Join(f.warnings, "\n"), "no fix available yet (linux/amd64): tar") ||
		!strings.Contains(strings.Join(f.warnings, "\n"), "not installed, skipped (linux/amd64): openssl") {
		t.Errorf("warnings = %q", f.warnings)
	}
}

func TestBuildNothingToPatch(t *testing.T) {
	f := newFake(defaultOpts)
	f.files["/var/lib/dpkg/status"] = status("libc6", "2.36-9+deb12u10", "tar", "1.34+dfsg-1.2")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, pbDef := range f.solved {
		var def llb.Definition
		def.FromPB(pbDef)
		if headKind(&def) == "exec" {
			t.Error("an upgrade was solved though nothing needed patching")
		}
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &cfg); err != nil || len(cfg.History) != 1 {
		t.Errorf("unchanged image must keep its config: %v %+v", err, cfg.History)
	}
}

// Without os-release, the report's OS decides; the image's DB still rules.
func TestBuildWithoutOSRelease(t *testing.T) {
	f := newFake(defaultOpts)
	delete(f.files, "/etc/os-release")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata[patch.MetadataSummaryKey], &sums); err != nil || sums[0].OS != "debian 12" {
		t.Fatalf("summary = %s, %v", res.Metadata[patch.MetadataSummaryKey], err)
	}
}

func TestBuildNoCache(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12", "context:report": "local:report", "no-cache": ""})
	if _, err := Build(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, pbDef := range f.solved {
		var def llb.Definition
		def.FromPB(pbDef)
		if headKind(&def) != "exec" {
			continue
		}
		found = true
		head, _ := def.Head()
		if !def.Metadata[head].IgnoreCache {
			t.Error("no-cache: the upgrade step must ignore BuildKit's cache")
		}
	}
	if !found {
		t.Fatal("no upgrade was solved")
	}
}

func TestBuildShortfall(t *testing.T) {
	f := newFake(defaultOpts)
	f.afterStatus = f.files["/var/lib/dpkg/status"]
	_, err := Build(t.Context(), f)
	var short *plan.ShortfallError
	if !errors.As(err, &short) || short.Packages[0].Name != "libc6" {
		t.Fatalf("got %v, want a plan.ShortfallError for libc6", err)
	}
}

// With ignore-errors the image is kept, the shortfall is told, and the
// package that fell short claims no fix.
func TestBuildShortfallIgnored(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12", "context:report": "local:report", "ignore-errors": "true"})
	f.afterStatus = status("libc6", "2.36-9+deb12u9", "libc-bin", "2.36-9+deb12u10", "tar", "1.34+dfsg-1.2")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(f.warnings, "\n"), "below their fixed version") {
		t.Errorf("warnings = %q", f.warnings)
	}
	sums := summaries(t, res)
	for _, c := range sums[0].Changes {
		if len(c.Fixes) > 0 {
			t.Errorf("%s claims fixes %v though libc6 fell short", c.Name, c.Fixes)
		}
	}
}

// Update-all reads no report: it plans what apt says is upgradable and
// installs exactly that.
func TestBuildUpdateAll(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12", "update-all": "true"})
	f.upgradable = "libc6 2.36-9+deb12u10\ntar 1.34+dfsg-1.2+deb12u1\n"
	f.afterStatus = status("libc6", "2.36-9+deb12u10", "tar", "1.34+dfsg-1.2+deb12u1")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	sums := summaries(t, res)
	if ups := sums[0].Plan.Upgrades(); len(ups) != 2 || ups[1].Name != "tar" || ups[1].Fixed != "1.34+dfsg-1.2+deb12u1" {
		t.Errorf("plan = %+v", sums[0].Plan)
	}
	if len(sums[0].Changes) != 2 {
		t.Errorf("changes = %+v", sums[0].Changes)
	}
}

func TestBuildErrors(t *testing.T) {
	cases := map[string]struct {
		opts   map[string]string
		files  map[string]string
		report string
		check  func(error) bool
	}{
		"no image":      {opts: map[string]string{"context:report": "local:report"}, check: func(err error) bool { return errors.Is(err, patch.ErrNoImage) }},
		"no report":     {opts: map[string]string{"image": "debian:12"}, check: func(err error) bool { return errors.Is(err, errNoReport) }},
		"unknown image": {opts: map[string]string{"image": "alpine:3", "context:report": "local:report"}, check: func(err error) bool { return strings.Contains(err.Error(), "resolving image") }},
		"no os-release, report says photon": {
			opts:   defaultOpts,
			files:  map[string]string{"/var/lib/dpkg/status": ""},
			report: strings.ReplaceAll(testReport, "debian", "photon"),
			check:  func(err error) bool { return strings.Contains(err.Error(), "reading os-release") },
		},
		"unsupported OS": {
			opts:  defaultOpts,
			files: map[string]string{"/etc/os-release": "ID=photon\nVERSION_ID=5.0\n"},
			check: func(err error) bool {
				var ue *distros.UnsupportedError
				return errors.As(err, &ue) && ue.OS == "photon"
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(tc.opts)
			if tc.files != nil {
				f.files = tc.files
			}
			if tc.report != "" {
				f.report = tc.report
			}
			_, err := Build(t.Context(), f)
			if err == nil || !tc.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

// A builder without the needed features gets a clear error before any
// solve, naming what is missing.
func TestBuildOldBuilder(t *testing.T) {
	f := &oldBuilder{fakeClient: newFake(defaultOpts)}
	_, err := Build(t.Context(), f)
	var ce *CapsError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "exec.mount.cache") || len(f.solved) != 0 {
		t.Fatalf("want a CapsError naming exec.mount.cache before any solve, got %v", err)
	}
}

// oldBuilder reports the capabilities of a BuildKit without cache mounts.
type oldBuilder struct{ *fakeClient }

func (o *oldBuilder) BuildOpts() gwclient.BuildOpts {
	opts := o.fakeClient.BuildOpts()
	var caps []*apicapspb.APICap
	for _, c := range pb.Caps.All() {
		if c.ID != string(pb.CapExecMountCache) {
			caps = append(caps, c)
		}
	}
	opts.LLBCaps = pb.Caps.CapSet(caps)
	return opts
}

// summaries reads the per-platform summaries a build returned.
func summaries(t *testing.T, res *gwclient.Result) []patch.Summary {
	t.Helper()
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata[patch.MetadataSummaryKey], &sums); err != nil {
		t.Fatalf("reading summary %s: %v", res.Metadata[patch.MetadataSummaryKey], err)
	}
	return sums
}

// The upgrade step names the pinned image it patches: BuildKit also
// matches exec steps by their inputs' file contents, and another image
// with the same files must not hand back its cached result.
func TestUpgradeStepNamesItsBase(t *testing.T) {
	f := newFake(defaultOpts)
	if _, err := Build(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	want := "DARN_BASE_IMAGE=docker.io/library/debian:12@" + digest.FromString("manifest").String()
	for _, d := range f.solved {
		for _, dt := range d.Def {
			var op pb.Op
			if err := op.UnmarshalVT(dt); err == nil && op.GetExec() != nil && slices.Contains(op.GetExec().GetMeta().GetEnv(), want) {
				return
			}
		}
	}
	t.Errorf("no exec step has %s", want)
}

// BuildKit sends at most 16 MiB per read; larger reports are read in
// ranges, and reports over the limit fail with the sizes named.
func TestBuildLargeReport(t *testing.T) {
	f := newFake(defaultOpts)
	// Whitespace is valid JSON padding, as a scanner's descriptions are.
	f.report = strings.Replace(testReport, `"SchemaVersion":2,`, `"SchemaVersion":2,`+strings.Repeat(" ", 20<<20), 1)
	if _, err := Build(t.Context(), f); err != nil {
		t.Fatalf("a 20 MiB report: %v", err)
	}
	ref := &fakeRef{files: map[string]string{"big.json": strings.Repeat("x", 3<<20)}}
	_, err := readFile(t.Context(), ref, "big.json", 2<<20)
	var tooLarge *FileTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Size != 3<<20 || !strings.Contains(err.Error(), "big.json is 3 MiB; darn reads files up to 2 MiB") {
		t.Errorf("readFile over the limit: %v", err)
	}
	dt, err := readFile(t.Context(), ref, "big.json", 3<<20)
	if err != nil || len(dt) != 3<<20 {
		t.Errorf("readFile at the limit: %d bytes, %v", len(dt), err)
	}
}

// A step that fails with one of the scripts' own exit codes says why in
// words; others pass through as BuildKit reported them.
func TestBuildStepErrors(t *testing.T) {
	for code, want := range map[uint32]string{
		100: "no version at or above the fixed one",
		101: "a repository failed or did not answer within the fetch timeout",
		102: "refused to write into the image",
		1:   "exit code: 1",
	} {
		f := newFake(defaultOpts)
		f.execErr = &gwpb.ExitError{ExitCode: code}
		_, err := Build(t.Context(), f)
		var step *StepError
		if err == nil || !strings.Contains(err.Error(), want) || errors.As(err, &step) != (code != 1) {
			t.Errorf("exit %d: got %v, want %q", code, err, want)
		}
	}
}

// A report that lists nothing darn can patch says so: a clean image's
// report and a report of language packages only are told apart.
func TestBuildEmptyReport(t *testing.T) {
	for report, want := range map[string]string{
		`[]`:               "report report.json lists no vulnerabilities: nothing to patch",
		`{"matches":null}`: "report report.json lists no vulnerabilities: nothing to patch",
		"\ufeff" + `null`:  "report report.json lists no vulnerabilities: nothing to patch",
		`{"SchemaVersion":2,"Results":[{"Target":"app/go.sum","Class":"lang-pkgs","Type":"gomod","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"x","FixedVersion":"1.1"}]}]}`: "report report.json lists 1 vulnerabilities, none in OS packages",
	} {
		f := newFake(defaultOpts)
		f.report = report
		if _, err := Build(t.Context(), f); err != nil {
			t.Errorf("%s: %v", report, err)
			continue
		}
		if !strings.Contains(strings.Join(f.warnings, "\n"), want) {
			t.Errorf("%s: warnings %q, want %q", report, f.warnings, want)
		}
	}
}

// A Patchfile given through the dockerfile context names the image, and
// its errors carry the source for BuildKit clients to print.
func TestBuildFromPatchfile(t *testing.T) {
	f := newFake(map[string]string{"context:report": "local:report", "build-arg:TAG": "12"})
	f.patchfile = "# syntax=darn\nARG TAG=11\nFROM debian:${TAG}\n"
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata[patch.MetadataSummaryKey], &sums); err != nil || sums[0].Image != "docker.io/library/debian:12" {
		t.Fatalf("summary: %v %s", err, res.Metadata[patch.MetadataSummaryKey])
	}

	f.patchfile = "FROM debian:12\nRUN true\n"
	_, err = Build(t.Context(), f)
	var se *errdefs.SourceError
	if !errors.As(err, &se) || se.Info.Filename != "Dockerfile" || se.Ranges[0].Start.Line != 2 {
		t.Fatalf("want a source error at Dockerfile:2, got %v", err)
	}
}
