package darn_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Data flows one way: options → report → plan → LLB → result, and only
// frontend/ and plugin/ do IO. The packages below are the pure core.
var (
	// data are the packages that know nothing of BuildKit at all: the
	// report readers, the planner, the VEX writer and every package
	// family, which describes its steps as data (distros.Step).
	data = []string{"./report/...", "./plan/...", "./vex/...", "./distros/..."}
	// llbCore are the packages that turn the core's decisions into LLB,
	// with BuildKit's client/llb and nothing else of BuildKit's clients.
	llbCore = []string{"./llb/...", "./patch/..."}
	// policy reads source policies with BuildKit's policy engine.
	policy = []string{"./policy/..."}
)

// No package of the pure core depends, even indirectly, on a client of
// BuildKit's gateway or daemon, on Docker, or on a terminal UI.
func TestPureCoreDependsOnNoClient(t *testing.T) {
	banned := []string{
		"github.com/moby/buildkit/frontend/gateway/client",
		"github.com/moby/buildkit/frontend/gateway/grpcclient",
		"github.com/moby/buildkit/frontend/dockerui",
		"github.com/moby/buildkit/client", // the daemon client; client/llb is fine
		"github.com/moby/buildkit/util/progress/progressui",
		"github.com/docker/docker/client",
		"github.com/moby/moby/client",
		"github.com/docker/cli/cli/command",
	}
	for _, pkg := range concat(data, llbCore, policy) {
		assertNoDeps(t, pkg, banned)
	}
}

// The data packages and the families depend on no BuildKit code, no
// Docker code and no logger at all: `go list -deps` shows it.
func TestDataPackagesDependOnNoBuildKit(t *testing.T) {
	for _, pkg := range data {
		for dep := range goList(t, "-deps", pkg) {
			for _, prefix := range []string{"github.com/moby/", "github.com/docker/", "github.com/sirupsen/logrus", "github.com/containerd/log"} {
				if strings.HasPrefix(dep, prefix) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// The LLB packages reach no source-policy engine. (BuildKit's client/llb
// itself depends on its session package and on logrus, through its image
// source resolver; that is why the ban on those holds for the LLB
// packages' own imports, below, and for the data packages entirely.)
func TestLLBCoreDependsOnNoPolicyEngine(t *testing.T) {
	for _, pkg := range llbCore {
		assertNoDeps(t, pkg, []string{"github.com/moby/buildkit/sourcepolicy"})
	}
}

// The pure core logs nothing and opens no session: warnings reach users
// through BuildKit, from the frontend.
func TestPureCoreImportsNoLoggerOrSession(t *testing.T) {
	banned := []string{
		"github.com/sirupsen/logrus", "github.com/containerd/log", "github.com/moby/buildkit/util/bklog",
		"log", "log/slog", "github.com/moby/buildkit/session",
	}
	for _, pkg := range concat(data, llbCore, policy) {
		imports := goList(t, "-f", `{{join .Imports "\n"}}`, pkg)
		for _, b := range banned {
			if imports[b] {
				t.Errorf("%s imports %s", pkg, b)
			}
		}
	}
}

// The frontend and the patch core reach families only through the
// registry (distros/all): neither names a family.
func TestNoFamilyNamedOutsideRegistry(t *testing.T) {
	families := goList(t, "./distros/...")
	delete(families, "github.com/darn-dev/darn/distros")
	delete(families, "github.com/darn-dev/darn/distros/all")
	for _, pkg := range []string{"./frontend/...", "./patch/...", "./plugin/...", "./llb/..."} {
		imports := goList(t, "-f", `{{join .Imports "\n"}}`, pkg)
		for fam := range families {
			if fam != "" && imports[fam] {
				t.Errorf("%s names the family %s; reach it through distros/all", pkg, fam)
			}
		}
	}
}

func assertNoDeps(t *testing.T, pkg string, banned []string) {
	t.Helper()
	deps := goList(t, "-deps", pkg)
	for _, b := range banned {
		if deps[b] {
			t.Errorf("%s depends on %s", pkg, b)
		}
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
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
