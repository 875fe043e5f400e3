package plugin

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
	"github.com/tonistiigi/fsutil"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/policy"
)

const (
	digestA = digest.Digest("sha256:4edbd2beb5f78b1014028f4fbb99f3237d9561100b6881aabbf5acce2c4f9454")
	digestB = digest.Digest("sha256:6e4b94fc270e708e1068be28bd3551dc6917a4fc5a61293d51bb36e6b75c4b53")
)

func TestPinCmdArgs(t *testing.T) {
	for name, args := range map[string][]string{
		"no image":       {"policy", "pin"},
		"two images":     {"policy", "pin", "debian:12", "debian:11"},
		"unknown flag":   {"policy", "pin", "--nope", "debian:12"},
		"unknown subcmd": {"policy", "pinn", "debian:12"},
	} {
		t.Run(name, func(t *testing.T) {
			// A bare stand-in for "docker patch", whose pre-run needs a CLI.
			cmd := &cobra.Command{Use: "patch"}
			cmd.AddCommand(policyCmd(nil))
			cmd.SetArgs(args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			if err := cmd.Execute(); exitCode(err) != exitUsage {
				t.Errorf("%v: %v (exit %d), want a usage error", args, err, exitCode(err))
			}
		})
	}
}

func TestPinValidate(t *testing.T) {
	report := writeFile(t, "report.json", "null")
	pol := writeFile(t, "policy.json", denyDebianPolicy)
	ok := pinOptions{image: "debian:12", progress: "auto"}
	cases := map[string]struct {
		edit func(*pinOptions)
		want string // "" for valid
	}{
		"minimal": {edit: func(*pinOptions) {}},
		"all flags": {edit: func(o *pinOptions) {
			*o = pinOptions{image: "debian:12", report: report, sourcePolicy: pol, toolingImage: "busybox:1", frontendImage: "darn/frontend:1", platform: "linux/amd64,linux/arm64", progress: "quiet"}
		}},
		"bad image":       {edit: func(o *pinOptions) { o.image = "Debian:12" }, want: `invalid image reference "Debian:12"`},
		"bad tooling":     {edit: func(o *pinOptions) { o.toolingImage = "a b" }, want: `--tooling-image "a b"`},
		"bad frontend":    {edit: func(o *pinOptions) { o.frontendImage = "Darn" }, want: `--frontend "Darn"`},
		"missing report":  {edit: func(o *pinOptions) { o.report = report + ".nope" }, want: "--report " + report + ".nope: not a readable file"},
		"policy is a dir": {edit: func(o *pinOptions) { o.sourcePolicy = filepath.Dir(pol) }, want: "--source-policy " + filepath.Dir(pol)},
		"bad platform":    {edit: func(o *pinOptions) { o.platform = "linux/amd64,nope/x/y/z" }, want: `--platform "linux/amd64,nope/x/y/z"`},
		"bad progress":    {edit: func(o *pinOptions) { o.progress = "fancy" }, want: `--progress "fancy"`},
		"addr and builder": {
			edit: func(o *pinOptions) { o.builder = builderOptions{addr: "tcp://x:1", builder: "b"} },
			want: "--addr and --builder",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate() = %v, want %q", err, tc.want)
			}
			if err != nil && exitCode(err) != exitUsage {
				t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
			}
		})
	}
}

// The plan runs with the options of a patch (one table, imageOptions'),
// plus the plan request and the tooling image.
func TestPinSolveOpt(t *testing.T) {
	pol, err := policy.ParseSourcePolicy([]byte(denyDebianPolicy), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	report := writeFile(t, "trivy.json", "null")
	cli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	o := pinOptions{image: "debian:12", report: report, platform: "linux/arm64", toolingImage: "busybox:1"}
	opt, err := o.solveOpt(cli, pol)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"image": "docker.io/library/debian:12", "report": "trivy.json", "context:report": "local:report", "platform": "linux/arm64",
		"requestid": "frontend.plan", "tooling-image": "docker.io/library/busybox:1",
	}
	if !reflect.DeepEqual(opt.FrontendAttrs, want) || opt.SourcePolicy != pol || opt.LocalMounts["report"] == nil || len(opt.Session) != 1 {
		t.Errorf("solveOpt = %+v", opt)
	}
	o.report = ""
	if opt, err = o.solveOpt(cli, nil); err != nil || opt.FrontendAttrs["report"] != "report.json" || opt.SourcePolicy != nil {
		t.Errorf("without --report: %+v, %v", opt.FrontendAttrs, err)
	}
}

// Without --report, the report context is one file, "null", sent by
// fsutil as from a directory, also through the FollowPaths filter the
// frontend asks for.
func TestFileFS(t *testing.T) {
	plain := fileFS{name: "report.json", data: []byte("null")}
	filtered, err := fsutil.NewFilterFS(plain, &fsutil.FilterOpt{FollowPaths: []string{"report.json"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, fs := range map[string]fsutil.FS{"plain": plain, "followpaths": filtered} {
		var b bytes.Buffer
		if err := fsutil.WriteTar(t.Context(), fs, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr := tar.NewReader(&b)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dt, _ := io.ReadAll(tr)
		if hdr.Name != "report.json" || string(dt) != "null" {
			t.Errorf("%s: %s = %q", name, hdr.Name, dt)
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Errorf("%s: more than one entry: %v", name, err)
		}
	}
	if _, err := plain.Open("other.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(other.json) = %v", err)
	}
}

func TestPlanImages(t *testing.T) {
	sums := []patch.Summary{
		{Platform: "linux/amd64", Image: "docker.io/library/debian:12", Digest: digestA.String()},
		{
			Platform: "linux/arm64", Image: "docker.io/darn/distroless:1", Digest: digestB.String(),
			ToolingImage: "docker.io/library/debian:12", ToolingDigest: digestA.String(),
		},
	}
	dt, err := json.Marshal(sums)
	if err != nil {
		t.Fatal(err)
	}
	uses, err := planImages(dt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range uses {
		got = append(got, u.ref+"@"+u.digest.String()+" "+u.platform.Architecture)
	}
	want := []string{
		"docker.io/library/debian:12@" + digestA.String() + " amd64",
		"docker.io/darn/distroless:1@" + digestB.String() + " arm64",
		"docker.io/library/debian:12@" + digestA.String() + " arm64",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("planImages = %q, want %q", got, want)
	}
	for _, bad := range []string{`[]`, `{`, `[{"platform": "x/y/z/w"}]`} {
		if _, err := planImages([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "reading the plan") {
			t.Errorf("planImages(%s) = %v", bad, err)
		}
	}
}

// fakeResolver answers ResolveImageConfig as BuildKit does under a
// policy: with the converted reference and its digest.
type fakeResolver struct {
	images map[string]resolvedImage // by ref asked
	asked  []string
}

func (f *fakeResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	f.asked = append(f.asked, ref)
	img, ok := f.images[ref]
	if !ok || opt.ImageOpt == nil {
		return "", "", nil, errors.New("not found")
	}
	return img.target, img.digest, []byte("{}"), nil
}

func TestResolveUses(t *testing.T) {
	r := &fakeResolver{images: map[string]resolvedImage{
		"docker.io/library/debian:12": {target: "mirror.example/debian:12", digest: digestA},
		"docker.io/darn/frontend:1":   {target: "docker.io/darn/frontend:1", digest: digestB},
	}}
	uses := []imageUse{
		{ref: "docker.io/library/debian:12", digest: digestA},
		{ref: "docker.io/library/debian:12", digest: digestA}, // another platform
		{ref: "docker.io/darn/frontend:1"},
	}
	got, err := resolveUses(t.Context(), r, uses)
	want := []resolvedImage{
		{source: "docker.io/library/debian:12", target: "mirror.example/debian:12", digest: digestA},
		{source: "docker.io/darn/frontend:1", target: "docker.io/darn/frontend:1", digest: digestB},
	}
	if err != nil || !reflect.DeepEqual(got, want) || len(r.asked) != 2 {
		t.Errorf("resolveUses = %+v, %v (asked %v)", got, err, r.asked)
	}
	_, err = resolveUses(t.Context(), r, []imageUse{{ref: "docker.io/library/debian:12", digest: digestB}})
	if err == nil || !strings.Contains(err.Error(), "moved from "+digestB.String()+" to "+digestA.String()) {
		t.Errorf("moved tag: %v", err)
	}
	if _, err := resolveUses(t.Context(), r, []imageUse{{ref: "docker.io/library/nope:1"}}); err == nil || !strings.HasPrefix(err.Error(), "resolving docker.io/library/nope:1: ") {
		t.Errorf("unknown image: %v", err)
	}
}

func parsePolicy(t *testing.T, dt string) *spb.Policy {
	t.Helper()
	p, err := policy.ParseSourcePolicy([]byte(dt), "existing.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPinnedPolicy(t *testing.T) {
	mirror := parsePolicy(t, `{"rules": [
		{"action": "DENY", "selector": {"identifier": "*"}},
		{"action": "ALLOW", "selector": {"identifier": "docker-image://mirror.example/debian:12", "match_type": "EXACT"}},
		{"action": "CONVERT", "selector": {"identifier": "docker-image://docker.io/library/debian:12", "match_type": "EXACT"},
		 "updates": {"identifier": "docker-image://mirror.example/debian:12"}}]}`)
	found := []resolvedImage{{source: "docker.io/library/debian:12", target: "mirror.example/debian:12", digest: digestA}}
	out, err := pinnedPolicy(mirror, found)
	if err != nil {
		t.Fatal(err)
	}
	pinned := "docker-image://mirror.example/debian:12@" + digestA.String()
	if len(out.Rules) != 5 || out.Rules[3].Updates.GetIdentifier() != pinned ||
		out.Rules[4].Action != spb.PolicyAction_ALLOW || out.Rules[4].Selector.Identifier != pinned {
		t.Errorf("rules = %v", out.Rules)
	}
	if got, err := policy.ConvertSource(out, "docker-image://docker.io/library/debian:12"); err != nil || got != pinned {
		t.Errorf("debian:12 becomes %q, %v; want %s", got, err, pinned)
	}
	if _, err := policy.MarshalSourcePolicy(out); err != nil {
		t.Error(err)
	}

	plain := []resolvedImage{
		{source: "docker.io/library/debian:12", target: "docker.io/library/debian:12", digest: digestA},
		{source: "docker.io/library/debian@" + digestB.String(), target: "docker.io/library/debian@" + digestB.String(), digest: digestB},
	}
	out, err = pinnedPolicy(nil, plain)
	if err != nil || len(out.Rules) != 1 || out.Rules[0].Selector.Identifier != "docker-image://docker.io/library/debian:12" {
		t.Errorf("no policy: %v, %v; want one pin", out, err)
	}
}

func TestPinnedPolicyConflicts(t *testing.T) {
	// The existing policy converts the pinned image once more: the pins
	// would not hold, and pin says so rather than write them.
	again := parsePolicy(t, `{"rules": [{"action": "CONVERT",
		"selector": {"identifier": "docker-image://mirror.example/debian:12@*"},
		"updates": {"identifier": "docker-image://other.example/debian:12"}}]}`)
	found := []resolvedImage{{source: "docker.io/library/debian:12", target: "mirror.example/debian:12", digest: digestA}}
	if _, err := pinnedPolicy(again, found); err == nil || !strings.Contains(err.Error(), "a rule converts the pinned image again") {
		t.Errorf("converted again: %v", err)
	}
	twice := append(found, resolvedImage{source: "docker.io/library/debian:bookworm", target: "mirror.example/debian:12", digest: digestB})
	if _, err := pinnedPolicy(nil, twice); err == nil || !strings.Contains(err.Error(), "two digests") {
		t.Errorf("two digests: %v", err)
	}
}

func TestPinWrite(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := (pinOptions{}).write(&stdout, &stderr, []byte("{}\n"), 1); err != nil || stdout.String() != "{}\n" || stderr.Len() != 0 {
		t.Errorf("stdout: %q, stderr %q, %v", stdout.String(), stderr.String(), err)
	}
	out := filepath.Join(t.TempDir(), "p.json")
	stdout.Reset()
	if err := (pinOptions{output: out}).write(&stdout, &stderr, []byte("{}\n"), 2); err != nil || stdout.Len() != 0 ||
		stderr.String() != "pinned 2 images in "+out+"\n" {
		t.Errorf("--output: stdout %q, stderr %q, %v", stdout.String(), stderr.String(), err)
	}
	if dt, err := os.ReadFile(out); err != nil || string(dt) != "{}\n" {
		t.Errorf("%s: %q, %v", out, dt, err)
	}
}

// testbedCLI is a docker CLI with an empty config directory whose output
// goes to stdout and stderr.
func testbedCLI(t *testing.T, stdout, stderr io.Writer) command.Cli {
	t.Helper()
	prev := config.Dir()
	config.SetDir(t.TempDir())
	t.Cleanup(func() { config.SetDir(prev) })
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(stdout), command.WithErrorStream(stderr))
	if err != nil {
		t.Fatal(err)
	}
	if err := dockerCLI.Initialize(cliflags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	return dockerCLI
}

// TestPinTestbed pins the test bed's image and, as the frontend image, its
// demo image, on the test bed's buildkitd; the policy goes to stdout.
func TestPinTestbed(t *testing.T) {
	addr, _ := testbedSocket(t)
	image, demo := os.Getenv("DARN_TEST_IMAGE"), os.Getenv("DARN_DEMO_IMAGE")
	if image == "" || demo == "" {
		t.Skip("needs the test bed's images: DARN_TEST_IMAGE, DARN_DEMO_IMAGE")
	}
	t.Setenv(envSourcePolicy, "")
	var stdout, stderr bytes.Buffer
	o := pinOptions{image: image, frontendImage: demo, progress: "quiet", builder: builderOptions{addr: addr}}
	if err := runPin(t.Context(), testbedCLI(t, &stdout, &stderr), o); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	p, err := policy.ParseSourcePolicy(stdout.Bytes(), "stdout")
	if err != nil || len(p.Rules) != 2 {
		t.Fatalf("policy %v, %v:\n%s", p, err, stdout.String())
	}
	t.Logf("policy:\n%s", stdout.String())
	for ref, want := range map[string]string{image: os.Getenv("DARN_TEST_IMAGE_DIGEST"), demo: os.Getenv("DARN_DEMO_IMAGE_DIGEST")} {
		got, err := policy.ConvertSource(p, "docker-image://"+ref)
		if err != nil || want != "" && got != "docker-image://"+ref+"@"+want {
			t.Errorf("%s becomes %q, %v; want it pinned to %s", ref, got, err, want)
		}
	}

	// Under its own pins, BuildKit resolves every image to its digest
	// already: pinning again adds nothing.
	o.sourcePolicy = writeFile(t, "pinned.json", stdout.String())
	first := stdout.String()
	stdout.Reset()
	if err := runPin(t.Context(), testbedCLI(t, &stdout, &stderr), o); err != nil || stdout.String() != first {
		t.Errorf("pinning again: %v\n%s\nwant the same policy", err, stdout.String())
	}
}

// TestPinTestbedMapped pins under a policy that maps a name to the test
// bed's image: the pin is taken of the image the policy maps to, and the
// existing rules come first.
func TestPinTestbedMapped(t *testing.T) {
	addr, _ := testbedSocket(t)
	image := os.Getenv("DARN_TEST_IMAGE")
	if image == "" {
		t.Skip("needs the test bed's image: DARN_TEST_IMAGE")
	}
	existing := writeFile(t, "mirror.json", `{"rules": [
		{"action": "DENY", "selector": {"identifier": "docker-image://docker.io/library/*"}},
		{"action": "CONVERT", "selector": {"identifier": "docker-image://docker.io/darn-test/alias:1", "match_type": "EXACT"},
		 "updates": {"identifier": "docker-image://`+image+`"}}]}`)
	t.Setenv(envSourcePolicy, existing) // read as buildx reads it
	out := filepath.Join(t.TempDir(), "pinned.json")
	var stdout, stderr bytes.Buffer
	o := pinOptions{image: "darn-test/alias:1", output: out, progress: "plain", builder: builderOptions{addr: addr}}
	if err := runPin(t.Context(), testbedCLI(t, &stdout, &stderr), o); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseSourcePolicy(dt, out)
	if err != nil || len(p.Rules) != 4 || stdout.Len() != 0 {
		t.Fatalf("policy %v, %v (stdout %q):\n%s", p, err, stdout.String(), dt)
	}
	t.Logf("policy:\n%s", dt)
	got, err := policy.ConvertSource(p, "docker-image://docker.io/darn-test/alias:1")
	if want := os.Getenv("DARN_TEST_IMAGE_DIGEST"); err != nil || !strings.HasPrefix(got, "docker-image://"+image+"@sha256:") || want != "" && !strings.HasSuffix(got, want) {
		t.Errorf("alias becomes %q, %v; want %s pinned", got, err, image)
	}
	if !strings.Contains(stderr.String(), "[pin] resolve docker.io/darn-test/alias:1") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}
