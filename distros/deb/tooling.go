package deb

import (
	"fmt"

	"github.com/moby/buildkit/client/llb"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/plan"
)

// TargetDir is where the tooling container sees the image being patched.
const TargetDir = "/run/darn/target"

// InstallWithTooling patches target, an image without apt, dpkg or a
// shell, from tooling, an image of the same release that has them. The
// tooling container downloads the planned packages and unpacks them into
// the target root mounted at TargetDir; the returned state is that mount:
// the target's own layers plus exactly one layer of what changed, diffed
// against the TARGET's root, never against the tooling image's.
func InstallWithTooling(target, tooling llb.State, pl plan.Plan, opt InstallOptions) (llb.State, error) {
	args, err := installArgs(pl)
	if err != nil {
		return llb.State{}, err
	}
	runOpts := append(opt.stepOptions("unpack.sh", rootScript+unpackScript, "unpack", args),
		llb.AddEnv("DARN_TARGET", TargetDir),
		darnllb.BaseMount(target))
	run := tooling.User("root").Dir("/").Run(runOpts...)
	return run.AddMount(TargetDir, target), nil
}

// DefaultToolingImage names the tooling image for a release: the
// distribution's own slim image of the same version, so apt sees the same
// suites and keys as the image being patched.
func DefaultToolingImage(rel distros.Release) (string, error) {
	switch {
	case rel.ID == "debian" && isOneOf(rel.VersionID, "10", "11", "12", "13"):
		return "docker.io/library/debian:" + rel.VersionID + "-slim", nil
	case rel.ID == "ubuntu" && isOneOf(rel.VersionID, "18.04", "20.04", "22.04", "24.04"):
		return "docker.io/library/ubuntu:" + rel.VersionID, nil
	}
	return "", fmt.Errorf("no default tooling image for %s %s: set one with --tooling-image: %w",
		rel.ID, rel.VersionID, &distros.UnsupportedError{OS: rel.ID, Version: rel.VersionID})
}

func isOneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
