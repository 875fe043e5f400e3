package darn_test

import (
	"os/exec"
	"strings"
	"testing"
)

// pure are the packages that must never reach for a daemon: data flows
// options → report → plan → LLB → result, and only frontend/ and plugin/
// do IO.
var pure = []string{"./policy/...", "./distros/...", "./llb/...", "./report/...", "./vex/..."}

// Nothing the pure packages depend on, even indirectly, may be a client of
// BuildKit's gateway or daemon, or of Docker.
func TestPurePackagesDependOnNoClient(t *testing.T) {
	banned := []string{
		"github.com/moby/buildkit/frontend/gateway/client",
		"github.com/moby/buildkit/frontend/gateway/grpcclient",
		"github.com/moby/buildkit/frontend/dockerui",
		"github.com/moby/buildkit/client", // the daemon client; client/llb is fine
		"github.com/docker/docker/client",
		"github.com/moby/moby/client",
		"github.com/docker/cli/cli/command",
	}
	for _, pkg := range pure {
		deps := goList(t, "-deps", pkg)
		for _, b := range banned {
			if deps[b] {
				t.Errorf("%s depends on %s", pkg, b)
			}
		}
	}
}

// The pure packages log nothing and draw nothing: warnings reach users
// through BuildKit, from the frontend.
func TestPurePackagesImportNoLoggerOrTUI(t *testing.T) {
	banned := []string{"github.com/sirupsen/logrus", "github.com/moby/buildkit/util/progress/progressui", "log"}
	for _, pkg := range pure {
		imports := goList(t, "-f", `{{join .Imports "\n"}}`, pkg)
		for _, b := range banned {
			if imports[b] {
				t.Errorf("%s imports %s", pkg, b)
			}
		}
	}
}

func goList(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	set := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		set[strings.TrimSpace(l)] = true
	}
	return set
}
