package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/integration/testreport"
)

// patchCase is one way of running darn; every way must give the same image.
type patchCase struct {
	name  string
	patch func(t *testing.T, b bed, reportDir, tag string)
}

// patchCases is the frontend matrix: darn's frontend run in-process through
// BuildKit's client, and the docker CLI plugin run through the Docker CLI.
func patchCases() []patchCase {
	return []patchCase{
		{name: "in-process", patch: patchInProcess},
		{name: "docker-patch", patch: patchWithPlugin},
	}
}

func TestPatchDebianFromTrivyReport(t *testing.T) {
	b := testBed(t)
	c := b.client(t)
	ctx := t.Context()

	cands, rel, err := testreport.Upgradable(ctx, c, b.TestImage)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) == 0 {
		t.Fatalf("the security suite offers no update for %s: the test image must carry pending fixes", b.TestImage)
	}
	t.Logf("%d security updates pending for %s %s", len(cands), rel.ID, rel.VersionID)
	reportDir := writeReport(t, b.TestImage, rel, cands)
	orig := fetchImage(t, b.TestImage)

	for _, pc := range patchCases() {
		t.Run(pc.name, func(t *testing.T) {
			tag := fmt.Sprintf("%s/darn-test/patched:%s-%d", b.Registry, pc.name, time.Now().UnixNano())
			pc.patch(t, b, reportDir, tag)
			patched := fetchImage(t, tag)
			assertOneLayerAdded(t, orig, patched)
			assertConfigPreserved(t, orig, patched)
			assertLineage(t, orig, patched, cands)
			assertLayerClean(t, patched)
			assertPackages(t, orig, patched, cands)
			assertRuns(t, c, tag, cands)
		})
	}
}

// writeReport writes the derived Trivy report into a fresh directory.
func writeReport(t *testing.T, image string, rel distros.Release, cands []testreport.Candidate) string {
	t.Helper()
	dt, err := testreport.TrivyJSON(image, rel, cands)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.json"), dt, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// patchInProcess runs frontend.Build in-process through the BuildKit
// client and pushes the result.
func patchInProcess(t *testing.T, b bed, reportDir, tag string) {
	t.Helper()
	fs, err := fsutil.NewFS(reportDir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client(t).Build(t.Context(), client.SolveOpt{
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"name": tag, "push": "true"}}},
		LocalMounts:   map[string]fsutil.FS{"report": fs},
		FrontendAttrs: map[string]string{"image": b.TestImage, "context:report": "local:report"},
	}, "darn-integration", frontend.Build, nil)
	if err != nil {
		t.Fatalf("patching in-process: %v", err)
	}
}

// patchWithPlugin runs `docker patch image` through the Docker CLI.
func patchWithPlugin(t *testing.T, b bed, reportDir, tag string) {
	t.Helper()
	out := runPlugin(t, b, 0, "patch", "image", b.TestImage, "--report", filepath.Join(reportDir, "report.json"),
		"--tag", tag, "--push", "--progress", "plain")
	if !strings.Contains(out, "patched image: "+tag) {
		t.Errorf("plugin output does not name the patched image %s:\n%s", tag, out)
	}
}

// runPlugin runs the Docker CLI with docker-patch on the bed's buildkitd
// and checks the exit code.
func runPlugin(t *testing.T, b bed, wantExit int, args ...string) string {
	t.Helper()
	return runPluginEnv(t, []string{"BUILDKIT_HOST=" + b.BuildkitHost}, wantExit, args...)
}

// runPluginEnv runs the Docker CLI with docker-patch in env and checks the
// exit code.
func runPluginEnv(t *testing.T, env []string, wantExit int, args ...string) string {
	t.Helper()
	cmd := dockerCmd(t, dockerConfigWithPlugin(t), env, args...)
	out, err := cmd.CombinedOutput()
	if got := cmd.ProcessState.ExitCode(); got != wantExit {
		t.Fatalf("docker %s: exit %d (want %d): %v\n%s", strings.Join(args, " "), got, wantExit, err, out)
	}
	return string(out)
}
