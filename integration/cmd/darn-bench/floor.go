package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/plan"
)

// The floors do by hand the package manager's work darn's step does, and
// nothing else: refresh the indexes, download exactly the packages darn
// changed at the versions it installed, install (or unpack) them, and
// export the result as darn exports its own. Their scripts are constant;
// the packages reach them as arguments. They print "darn-bench: PHASE"
// lines for the phase split.
const (
	// aptFloorScript is apt's work in the image itself. Lists and
	// archives go to a tmpfs, as darn keeps them out of its layer. dpkg
	// skips its fsyncs, as darn's does (and Docker's official images'):
	// the floor measures the work, not the disk's flushes.
	aptFloorScript = `set -eu
echo "darn-bench: update"
apt-get -q -o APT::Sandbox::User=root update
echo "darn-bench: install"
apt-get -q -y -o APT::Sandbox::User=root -o APT::Install-Recommends=false \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	-o Dpkg::Options::=--force-unsafe-io install "$@"
echo "darn-bench: done"
`
	// unpackFloorScript is the distroless floor: the tooling image's apt
	// downloads the packages and dpkg-deb unpacks them into the target.
	unpackFloorScript = `set -eu
echo "darn-bench: update"
apt-get -q -o APT::Sandbox::User=root update
echo "darn-bench: download"
mkdir -p /tmp/debs && cd /tmp/debs
apt-get -q -o APT::Sandbox::User=root download "$@"
echo "darn-bench: unpack"
for d in /tmp/debs/*.deb; do dpkg-deb -x "$d" /target; done
echo "darn-bench: done"
`
	// rpmFloorScript is dnf's work in the image itself.
	rpmFloorScript = `set -eu
echo "darn-bench: install"
dnf -y --setopt=install_weak_deps=False --setopt=keepcache=False install "$@"
echo "darn-bench: done"
`
)

const floorPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// floorRun runs a constant script with args in a container of image, with
// the given directories on tmpfs mounts; it returns the root.
func floorRun(image, what, script string, args []string, tmpfs ...string) llb.ExecState {
	opts := []llb.RunOption{
		llb.Args(append([]string{"/bin/sh", "-c", script, "floor"}, args...)),
		llb.AddEnv("PATH", floorPath),
		llb.AddEnv("DEBIAN_FRONTEND", "noninteractive"),
		llb.IgnoreCache,
		llb.WithCustomName("[bench floor] " + what),
	}
	for _, p := range tmpfs {
		opts = append(opts, llb.AddMount(p, llb.Scratch(), llb.Tmpfs()))
	}
	return llb.Image(image).User("root").Dir("/").Run(opts...)
}

// aptFloor installs the packages at their versions with apt in the image.
func aptFloor(image string, pkgs []string) llb.State {
	return floorRun(image, "apt-get update && apt-get install "+strings.Join(pkgs, " "),
		aptFloorScript, pkgs, "/var/lib/apt/lists", "/var/cache/apt").Root()
}

// unpackFloor unpacks the packages into target from the tooling image.
func unpackFloor(tooling, target string, pkgs []string) llb.State {
	run := floorRun(tooling, "apt-get download && dpkg-deb -x "+strings.Join(pkgs, " "),
		unpackFloorScript, pkgs, "/var/lib/apt/lists", "/var/cache/apt", "/tmp")
	return run.AddMount("/target", llb.Image(target))
}

// rpmFloor installs the packages at their versions with dnf in the image.
func rpmFloor(image string, pkgs []string) llb.State {
	return floorRun(image, "dnf install "+strings.Join(pkgs, " "), rpmFloorScript, pkgs, "/var/cache/dnf", "/tmp").Root()
}

// runFloor solves a floor and pushes its result to tag, as darn's patch
// is pushed.
func runFloor(ctx context.Context, c *client.Client, st llb.State, tag string) (solveRun, error) {
	build := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		return gc.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	}
	opt := client.SolveOpt{Exports: []client.ExportEntry{pushExport(tag)}}
	run, err := solveWithProgress(ctx, func(ch chan *client.SolveStatus) error {
		_, err := c.Build(ctx, opt, "darn-bench-floor", build, ch)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("running the floor: %w", err)
	}
	return run, nil
}

// aptSpecs are darn's changes as apt's NAME=VERSION arguments.
func aptSpecs(changes []plan.Change) []string {
	return specs(changes, "=")
}

// rpmSpecs are darn's changes as dnf's NAME-EVR arguments.
func rpmSpecs(changes []plan.Change) []string {
	return specs(changes, "-")
}

func specs(changes []plan.Change, sep string) []string {
	var out []string
	for _, ch := range changes {
		out = append(out, ch.Name+sep+ch.To)
	}
	return out
}
