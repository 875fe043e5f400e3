package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// The Docker CLI finds docker-patch and shows its help with no Docker
// daemon and no BuildKit; usage errors exit 2.
func TestPluginThroughDockerCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	cfg := dockerConfigWithPlugin(t)
	env := []string{"DOCKER_HOST=unix:///nonexistent.sock", "BUILDKIT_HOST="}
	cases := []struct {
		args     []string
		wantExit int
		want     string
	}{
		{args: []string{"patch", "--help"}, want: "Patch the vulnerable OS packages"},
		{args: []string{"patch", "image", "--help"}, want: "--report string"},
		{args: []string{"--help"}, want: "patch*"},
		{args: []string{"patch", "image"}, wantExit: 2, want: "requires exactly 1 argument"},
		{args: []string{"patch", "image", "debian:12", "--bogus"}, wantExit: 2, want: "unknown flag: --bogus"},
		{args: []string{"patch", "image", "debian:12"}, wantExit: 2, want: "--report is required"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := dockerCmd(t, cfg, env, tc.args...)
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.wantExit {
				t.Fatalf("exit %d, want %d\n%s", got, tc.wantExit, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
