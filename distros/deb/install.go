package deb

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// The apt scripts: common.sh holds the functions all use and is
// prepended to each (after distros' shared functions), so every step runs one
// self-contained script; distros' root.sh, for the tooling step, writes
// into an untrusted root safely.
var (
	// commonScript holds the apt functions and the shared settle_times.
	commonScript = distros.SharedScript + aptScript
	rootScript   = distros.RootScript

	//go:embed common.sh
	aptScript string
	//go:embed install.sh
	installScript string
	//go:embed unpack.sh
	unpackScript string
	//go:embed upgradable.sh
	upgradableScript string
)

// Package names and versions as Debian policy allows them (§5.6.1, §5.6.12).
// They reach apt only as argv, never a shell, but a report is untrusted
// input and a clear error beats apt's.
var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	versionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)
)

// aptCaches are apt's index lists and package archives. They are cache
// mounts, so nothing apt keeps for itself reaches the layer, and package
// llb keeps them apart per image whose apt fills them.
var aptCaches = []distros.Cache{
	{Path: "/var/lib/apt/lists", Name: "lists"},
	{Path: "/var/cache/apt", Name: "archives"},
}

// Upgrade is apt's step: in the image itself, `apt-get install` of each
// package at the lowest version the sources offer at or above its fixed
// one (install.sh); from a tooling image, `apt-get download` of the same
// and an unpack into the image's root with its dpkg database rewritten
// (unpack.sh). Index files, archives, logs and dpkg's backups stay on
// mounts or are restored from the original root, never reaching the layer.
func (Family) Upgrade(u distros.Upgrade) (distros.Step, error) {
	args, err := installArgs(u.Plan)
	if err != nil {
		return distros.Step{}, err
	}
	s := aptStep(u, "apt-get install", "install.sh", installScript, args)
	if u.Tooling {
		s = aptStep(u, "unpack", "unpack.sh", rootScript+unpackScript, args)
	}
	return s, nil
}

// aptStep is an apt step with the environment every apt step shares.
func aptStep(u distros.Upgrade, what, name, script string, args []string) distros.Step {
	s := distros.Step{
		Name:       what + " " + strings.Join(args, " "),
		ScriptName: name,
		Script:     commonScript + script,
		Args:       args,
		Caches:     aptCaches,
		Tmpfs:      []string{"/tmp"},
		InTooling:  u.Tooling,
	}
	s.Env = u.SharedEnv()
	if u.SkipMissing {
		s.Env = append(s.Env, [2]string{"DARN_SKIP_MISSING", "1"})
	}
	if u.Refreshed {
		s.Env = append(s.Env, [2]string{"DARN_INDEXES_FRESH", "1"})
	}
	return s
}

// installArgs turns the plan's upgrades into NAME=MINVERSION arguments.
func installArgs(pl plan.Plan) ([]string, error) {
	ups := pl.Upgrades()
	if len(ups) == 0 {
		return nil, plan.ErrNothingToPatch
	}
	args := make([]string, 0, len(ups))
	for _, it := range ups {
		if !nameRE.MatchString(it.Name) {
			return nil, fmt.Errorf("invalid Debian package name %q", it.Name)
		}
		if !versionRE.MatchString(it.Fixed) {
			return nil, fmt.Errorf("invalid Debian version %q for %s", it.Fixed, it.Name)
		}
		args = append(args, it.Name+"="+it.Fixed)
	}
	// The arguments are part of the step's cache key: same plan, same key.
	slices.Sort(args)
	return args, nil
}
