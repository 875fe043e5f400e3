package rpm

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// The rpm scripts: common.sh (after distros' shared functions) is
// prepended to each; the tooling ones also get distros' root.sh, which
// writes into an untrusted root safely.
var (
	//go:embed common.sh
	rpmScript string
	//go:embed install.sh
	installScript string
	//go:embed available.sh
	availableScript string
	//go:embed root-install.sh
	rootInstallScript string
	//go:embed root-available.sh
	rootAvailableScript string
	//go:embed manifest-unpack.sh
	manifestUnpackScript string

	commonScript = distros.SharedScript + rpmScript
	toolScript   = commonScript + distros.RootScript
)

// Package names as rpm allows them, and the directory the answer of the
// Available step is written to.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`)

const (
	answerDir  = "/run/darn/out"
	answerFile = "available"
	// cacheDir holds the package manager's metadata and downloads: a cache
	// mount, never the image's.
	cacheDir = "/var/cache/darn-pm"
	// toolManager asks the step to use the tooling image's package
	// manager, whichever of dnf, tdnf or zypper it has.
	toolManager = "tooling"
)

var pmCache = []distros.Cache{{Path: cacheDir, Name: "pm"}}

// Upgrade installs each planned package at the exact version Pin chose:
// with the image's own package manager, or, for an image without one,
// with the tooling image's dnf into its root (an rpm database) or by
// unpacking the verified packages (a container manifest).
func (Family) Upgrade(u distros.Upgrade) (distros.Step, error) {
	args, err := pinnedArgs(u.Plan)
	if err != nil {
		return distros.Step{}, err
	}
	script, what := installScript, u.Manager+" install"
	switch {
	case u.Tooling && u.Database == dbManifest:
		script, what = manifestUnpackScript, "unpack"
	case u.Tooling:
		script, what = rootInstallScript, "dnf --installroot install"
	}
	return step(u, what+" "+strings.Join(args, " "), "install.sh", script, args), nil
}

// Available lists what the repositories offer for the plan's upgrades.
func (Family) Available(u distros.Upgrade) (distros.Step, error) {
	var names []string
	for _, it := range u.Plan.Upgrades() {
		if !nameRE.MatchString(it.Name) {
			return distros.Step{}, fmt.Errorf("invalid rpm package name %q", it.Name)
		}
		names = append(names, it.Name)
	}
	if len(names) == 0 {
		return distros.Step{}, plan.ErrNothingToPatch
	}
	return availableStep(u, "list available versions of "+strings.Join(names, " "), names), nil
}

// Upgradable lists what the repositories offer for every installed
// package (update-all mode); ParseUpgradable keeps the newest of each.
func (Family) Upgradable(u distros.Upgrade) (distros.Step, error) {
	var names []string
	for _, p := range u.Installed {
		if p.Installed && nameRE.MatchString(p.Name) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return availableStep(u, fmt.Sprintf("list available versions (%d installed)", len(names)), names), nil
}

// availableStep is the listing step, in the image or its tooling image.
func availableStep(u distros.Upgrade, what string, names []string) distros.Step {
	script := availableScript
	if u.Tooling {
		script = rootAvailableScript
	}
	s := step(u, what, "available.sh", script, names)
	s.Output, s.Answer = answerDir, answerFile
	s.Env = append(s.Env, [2]string{"DARN_OUT", answerDir})
	return s
}

// step is an rpm step with the environment every one has.
func step(u distros.Upgrade, what, name, script string, args []string) distros.Step {
	base, mgr := commonScript, u.Manager
	if u.Tooling {
		base, mgr = toolScript, toolManager
	}
	s := distros.Step{
		Name: what, ScriptName: name, Script: base + script, Args: args,
		Caches: pmCache, Tmpfs: []string{"/tmp"}, InTooling: u.Tooling,
		// The tooling step reads the image's own repositories: its
		// caches are the image's, not shared with other images.
		CachePerTarget: u.Tooling,
		Env:            [][2]string{{"DARN_MANAGER", mgr}, {"DARN_CACHE", cacheDir}},
	}
	if u.Tooling {
		s.Env = append(s.Env, [2]string{"DARN_RELEASEVER", releasever(u.Release)})
	}
	s.Env = append(s.Env, u.SharedEnv()...)
	return s
}

// releasever is dnf's $releasever for a release: the major version for
// Enterprise Linux and its rebuilds ("9" for 9.4), the version otherwise.
func releasever(rel distros.Release) string {
	if r, ok := lookupRelease(rel.ID, rel.VersionID); ok && r.Major != "" && rel.ID != "amzn" {
		return r.Major
	}
	return rel.VersionID
}

// pinnedArgs turns the plan's upgrades into NAME=EVR arguments, each at the
// version Pin chose.
func pinnedArgs(p plan.Plan) ([]string, error) {
	ups := p.Upgrades()
	if len(ups) == 0 {
		return nil, plan.ErrNothingToPatch
	}
	args := make([]string, 0, len(ups))
	for _, it := range ups {
		if !nameRE.MatchString(it.Name) {
			return nil, fmt.Errorf("invalid rpm package name %q", it.Name)
		}
		if it.Version == "" {
			return nil, fmt.Errorf("no version chosen for %s: the repositories' versions were not listed", it.Name)
		}
		if err := checkVersion(it.Version); err != nil {
			return nil, fmt.Errorf("%s: %w", it.Name, err)
		}
		args = append(args, it.Name+"="+it.Version)
	}
	// The arguments are part of the step's cache key: same plan, same key.
	slices.Sort(args)
	return args, nil
}
