package frontend

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/darn-dev/darn/patch"
)

// statusD is one distroless status.d entry (no Status field, as Google's).
func statusD(name, version string) string {
	return "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n"
}

func distrolessFake(opts map[string]string) *fakeClient {
	f := newFake(opts)
	f.files = map[string]string{
		"/etc/os-release":                      testOSRelease,
		"/var/lib/dpkg/status.d/libc6":         statusD("libc6", "2.36-9+deb12u9"),
		"/var/lib/dpkg/status.d/libc6.md5sums": "0123  lib/x86_64-linux-gnu/libc.so.6\n",
		"/var/lib/dpkg/status.d/tar":           statusD("tar", "1.34+dfsg-1.2"),
		"/var/lib/dpkg/status.d/base-files":    statusD("base-files", "12.4+deb12u11"),
	}
	f.after = map[string]string{
		"/var/lib/dpkg/status.d/libc6":      statusD("libc6", "2.36-9+deb12u10"),
		"/var/lib/dpkg/status.d/tar":        statusD("tar", "1.34+dfsg-1.2"),
		"/var/lib/dpkg/status.d/base-files": statusD("base-files", "12.4+deb12u11"),
	}
	return f
}

// An image without apt, dpkg or a shell is patched from the default
// tooling image of its release, with its own root mounted as the target.
func TestBuildDistroless(t *testing.T) {
	f := distrolessFake(defaultOpts)
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	sums := summaries(t, res)
	s := sums[0]
	if s.ToolingImage != "docker.io/library/debian:12-slim" || s.ToolingDigest == "" {
		t.Errorf("tooling image = %q@%q", s.ToolingImage, s.ToolingDigest)
	}
	if len(s.Changes) != 1 || s.Changes[0].Name != "libc6" || s.Changes[0].To != "2.36-9+deb12u10" {
		t.Errorf("changes = %+v", s.Changes)
	}
	exec := solvedExec(t, f)
	if !strings.Contains(exec, "/run/darn/target") || !strings.Contains(exec, "debian:12-slim@sha256:") {
		t.Errorf("the upgrade must run in the pinned tooling image with the target mounted:\n%s", exec)
	}
	if !strings.Contains(strings.Join(f.warnings, "\n"), "has no package manager") {
		t.Errorf("the tooling path must be announced: %q", f.warnings)
	}
}

// Newer distroless builds keep status.d/<pkg>/control directories.
func TestBuildDistrolessControlDirs(t *testing.T) {
	f := distrolessFake(defaultOpts)
	f.files = map[string]string{
		"/etc/os-release":                      testOSRelease,
		"/var/lib/dpkg/status.d/libc6/control": statusD("libc6", "2.36-9+deb12u9"),
		"/var/lib/dpkg/status.d/libc6/md5sums": "0123  lib/x86_64-linux-gnu/libc.so.6\n",
		"/var/lib/dpkg/status.d/tar/control":   statusD("tar", "1.34+dfsg-1.2"),
	}
	f.after = map[string]string{
		"/var/lib/dpkg/status.d/libc6/control": statusD("libc6", "2.36-9+deb12u10"),
		"/var/lib/dpkg/status.d/tar/control":   statusD("tar", "1.34+dfsg-1.2"),
	}
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata[patch.MetadataSummaryKey], &sums); err != nil || len(sums[0].Changes) != 1 {
		t.Fatalf("summary: %v %s", err, res.Metadata[patch.MetadataSummaryKey])
	}
}

func TestBuildDistrolessToolingOption(t *testing.T) {
	f := distrolessFake(map[string]string{
		"image": "debian:12", "context:report": "local:report",
		"tooling-image": "127.0.0.1:5000/tools/debian:bookworm-slim", "repo-mirror": "http://deb.example/debian=http://127.0.0.1:8080/debian",
	})
	if _, err := Build(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	exec := solvedExec(t, f)
	if !strings.Contains(exec, "127.0.0.1:5000/tools/debian:bookworm-slim@sha256:") || !strings.Contains(exec, "DARN_REPO_MIRRORS=http://deb.example/debian http://127.0.0.1:8080/debian") {
		t.Errorf("tooling-image and repo-mirror must reach the step:\n%s", exec)
	}
}

// solvedExec renders the sources and environment of the solved upgrade.
func solvedExec(t *testing.T, f *fakeClient) string {
	t.Helper()
	for _, d := range f.solved {
		var def llb.Definition
		def.FromPB(d)
		if headKind(&def) != "exec" {
			continue
		}
		var b strings.Builder
		for _, dt := range def.Def {
			var op pb.Op
			if err := op.UnmarshalVT(dt); err != nil {
				t.Fatal(err)
			}
			if src := op.GetSource(); src != nil {
				b.WriteString(src.Identifier + "\n")
			}
			if ex := op.GetExec(); ex != nil {
				b.WriteString(strings.Join(ex.Meta.Env, "\n") + "\n")
				for _, m := range ex.Mounts {
					b.WriteString("mount " + m.Dest + "\n")
				}
			}
		}
		return b.String()
	}
	t.Fatal("no upgrade was solved")
	return ""
}
