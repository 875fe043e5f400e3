package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dockerHost returns the test bed's Docker Engine (20.10, from Debian).
func dockerHost(t *testing.T) string {
	t.Helper()
	h := os.Getenv("DARN_DOCKER_HOST")
	if h == "" {
		t.Fatal("the test bed lacks DARN_DOCKER_HOST: run `make test-integration`")
	}
	return h
}

// --load streams the patched image from the bed's buildkitd into a Docker
// daemon, which lists and runs it.
func TestLoadIntoDockerDaemon(t *testing.T) {
	e := newEntryBed(t)
	host := dockerHost(t)
	tag := "darn-test/loaded:remote"
	runPluginEnv(t, []string{"BUILDKIT_HOST=" + e.BuildkitHost, "DOCKER_HOST=" + host}, 0,
		"patch", "image", e.TestImage, "--report", filepath.Join(e.reportDir, "report.json"), "--tag", tag, "--load", "--progress", "plain")
	assertRunsInDocker(t, host, tag, e)
}

// The Docker daemon's own BuildKit (v0.8 in Docker 20.10, no diff/merge)
// is reached through the Docker API when nothing else is named. darn needs
// neither diff nor merge; the bed's daemon has no bridge, so without host
// networking the patch stops with an error saying what to do.
func TestDockerDaemonBuildKit(t *testing.T) {
	e := newEntryBed(t)
	host := dockerHost(t)
	env := []string{"BUILDKIT_HOST=", "BUILDX_BUILDER=", "DOCKER_HOST=" + host}
	run(t, []string{"DOCKER_HOST=" + host}, "docker", "pull", "-q", e.TestImage)
	report := filepath.Join(e.reportDir, "report.json")
	tag := "darn-test/loaded:daemon"

	out := runPluginEnv(t, env, 1, "patch", "image", e.TestImage, "--report", report, "--tag", tag, "--load", "--progress", "plain")
	if !strings.Contains(out, "docker driver") || !strings.Contains(out, "pass --network host") {
		t.Errorf("want the builder named and the fix explained:\n%s", out)
	}
	out = runPluginEnv(t, env, 0, "patch", "image", e.TestImage, "--report", report, "--tag", tag, "--load", "--network", "host", "--progress", "plain")
	if !strings.Contains(out, `using builder "default" (docker driver`) {
		t.Errorf("plain progress must name the Docker daemon's builder:\n%s", out)
	}
	assertRunsInDocker(t, host, tag, e)
}

// assertRunsInDocker checks the daemon lists the image and runs it as the
// image's own user, with the fixed versions installed.
func assertRunsInDocker(t *testing.T, host, tag string, e entryBed) {
	t.Helper()
	env := []string{"DOCKER_HOST=" + host}
	if out := run(t, env, "docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, tag) {
		t.Fatalf("the daemon does not list %s:\n%s", tag, out)
	}
	// The image's entrypoint is ["/bin/sh", "-c"]: one string is the script.
	out := run(t, env, "docker", "run", "--rm", "--network", "none", tag, "id -u; dpkg-query -W -f '${Package}=${Version}\\n'")
	if !strings.HasPrefix(out, "1000\n") {
		t.Errorf("the container must run as the image's user 1000:\n%s", out)
	}
	for _, c := range e.cands {
		if !strings.Contains(out, c.Name+"="+c.Candidate+"\n") {
			t.Errorf("%s=%s not installed in the loaded image:\n%s", c.Name, c.Candidate, out)
		}
	}
}

// docker-patch finds builders the way buildx does and says which it used;
// when none answers, it lists what it tried.
func TestBuilderDiscovery(t *testing.T) {
	e := newEntryBed(t)
	buildxConfig := os.Getenv("DARN_BUILDX_CONFIG")
	if buildxConfig == "" {
		t.Fatal("the test bed lacks DARN_BUILDX_CONFIG")
	}
	report := filepath.Join(e.reportDir, "report.json")
	args := []string{"patch", "image", e.TestImage, "--report", report, "--tag", e.tag("discovery"), "--push", "--progress", "plain"}

	out := runPluginEnv(t, []string{"BUILDKIT_HOST=", "BUILDX_CONFIG=" + buildxConfig}, 0, append(args, "--builder", e.buildxBuilder)...)
	if !strings.Contains(out, `using builder "`+e.buildxBuilder+`" (remote driver`) {
		t.Errorf("--builder: want the remote builder named:\n%s", out)
	}
	out = runPluginEnv(t, []string{"BUILDKIT_HOST=", "BUILDX_CONFIG=" + buildxConfig, "BUILDX_BUILDER=" + e.buildxBuilder}, 0, args...)
	if !strings.Contains(out, `using builder "`+e.buildxBuilder+`"`) {
		t.Errorf("BUILDX_BUILDER: want the remote builder named:\n%s", out)
	}
	out = runPluginEnv(t, []string{"BUILDKIT_HOST=", "BUILDX_BUILDER=", "BUILDX_CONFIG=" + t.TempDir(), "DOCKER_HOST=unix:///nonexistent.sock"}, 1, args...)
	for _, want := range []string{"tried", "current buildx builder", "Docker daemon", "BUILDKIT_HOST"} {
		if !strings.Contains(out, want) {
			t.Errorf("no builder: the error lacks %q:\n%s", want, out)
		}
	}
	out = runPluginEnv(t, []string{"BUILDX_CONFIG=" + buildxConfig}, 1, append(args, "--builder", "no-such-builder")...)
	if !strings.Contains(out, "no-such-builder") {
		t.Errorf("an unknown --builder must be named:\n%s", out)
	}
}
