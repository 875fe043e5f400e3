package deb

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/client/llb"

	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/plan"
)

//go:embed upgradable.sh
var upgradableScript string

// UpgradableDir is where the update-all probe writes its answer; the file
// in it is UpgradableFile.
const (
	UpgradableDir  = "/run/darn/out"
	UpgradableFile = "upgradable"
)

// Upgradable returns a state whose UpgradableFile lists, as "NAME VERSION"
// lines, the installed packages for which runner's apt sources offer a
// newer version. runner is the image itself, or the tooling image for an
// image without a package manager; installed is the image's package list.
// Nothing of the run reaches an image: only the answer is read.
func Upgradable(runner llb.State, installed []plan.Package, opt InstallOptions) llb.State {
	var args []string
	for _, p := range installed {
		if p.Installed && nameRE.MatchString(p.Name) && versionRE.MatchString(p.Version) {
			args = append(args, p.Name+"="+p.Version)
		}
	}
	sort.Strings(args)
	opts := append(opt.stepOptions("upgradable.sh", upgradableScript, "", args),
		llb.AddEnv("DARN_OUT", UpgradableDir),
		// The last name wins: the argument list is too long to show.
		darnllb.Named(opt.Platform, "list upgradable packages (%d installed)", len(args)))
	run := runner.User("root").Dir("/").Run(opts...)
	return run.AddMount(UpgradableDir, llb.Scratch())
}

// ParseUpgradable reads the probe's answer into name → version.
func ParseUpgradable(dt []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		name, version, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || !nameRE.MatchString(name) || !versionRE.MatchString(version) {
			return nil, fmt.Errorf("parsing upgradable packages: bad line %q", sc.Text())
		}
		out[name] = version
	}
	return out, sc.Err()
}
