package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/moby/buildkit/client"
)

// bed is the running test bed, as integration/testbed/up.sh describes it in
// .testbed/env (exported into the environment by `make test-integration`).
type bed struct {
	BuildkitHost string
	Registry     string
	TestImage    string
}

// testBed returns the test bed, skipping the test when there is none unless
// DARN_REQUIRE_INTEGRATION=1 (as `make test` sets), where a missing bed is
// a failure rather than a silent skip.
func testBed(t *testing.T) bed {
	t.Helper()
	if testing.Short() || os.Getenv("SKIP_INTEGRATION_TESTS") == "1" {
		t.Skip("integration test: skipped with -short or SKIP_INTEGRATION_TESTS=1")
	}
	b := bed{
		BuildkitHost: os.Getenv("BUILDKIT_HOST"),
		Registry:     os.Getenv("DARN_REGISTRY"),
		TestImage:    os.Getenv("DARN_TEST_IMAGE"),
	}
	if b.BuildkitHost == "" || b.Registry == "" || b.TestImage == "" {
		msg := "no test bed: run `make test-integration` (it starts buildkitd and a registry and sets BUILDKIT_HOST, DARN_REGISTRY, DARN_TEST_IMAGE)"
		if os.Getenv("DARN_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return b
}

// client connects to the bed's buildkitd.
func (b bed) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(t.Context(), b.BuildkitHost)
	if err != nil {
		t.Fatalf("connecting to buildkitd: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	pluginOnce sync.Once
	pluginPath string
	errPlugin  error
)

// dockerConfigWithPlugin returns a DOCKER_CONFIG directory whose
// cli-plugins holds docker-patch (DARN_PLUGIN, or built once here).
func dockerConfigWithPlugin(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		if p := os.Getenv("DARN_PLUGIN"); p != "" {
			pluginPath = p
			return
		}
		dir, err := os.MkdirTemp("", "darn-plugin") //nolint:usetesting // built once for every test of the run
		if err != nil {
			errPlugin = err
			return
		}
		pluginPath = filepath.Join(dir, "docker-patch")
		out, err := exec.Command("go", "build", "-o", pluginPath, "../plugin/cmd/docker-patch").CombinedOutput()
		if err != nil {
			errPlugin = fmt.Errorf("%w: %s", err, out)
		}
	})
	if errPlugin != nil {
		t.Fatalf("building docker-patch: %v", errPlugin)
	}
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pluginPath, filepath.Join(cfg, "cli-plugins", "docker-patch")); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dockerCmd runs the Docker CLI with docker-patch installed. No Docker
// daemon is involved: the plugin talks to BuildKit only.
func dockerCmd(t *testing.T, cfg string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+cfg), env...)
	return cmd
}
