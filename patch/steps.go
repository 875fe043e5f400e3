package patch

import (
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/plan"
)

// Image is an image resolved for one platform and pinned by digest, so
// that every step sees the very same image even when its tag moves.
type Image struct {
	// Ref is the image name as given, e.g. docker.io/library/debian:12.
	Ref reference.Named
	// Digest is the manifest resolved for the platform.
	Digest digest.Digest
	// Pinned is the reference the LLB pulls: after the build's source
	// policy, with the resolved digest.
	Pinned string
	Config dockerspec.DockerOCIImage
	// RawConfig is the config as the registry serves it, exported
	// unchanged for a platform that is kept as it is.
	RawConfig []byte
	// State is the image pinned by digest.
	State llb.State
}

// Platform is the image's platform as its config records it.
func (img Image) Platform() ocispecs.Platform {
	return ocispecs.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
}

// Env is what every step of one platform's patch shares.
type Env struct {
	Platform ocispecs.Platform
	Image    Image
	// Tooling is the pinned tooling image for an image without a package
	// manager; nil when the image patches itself.
	Tooling *Image
	Options Options
	// Proxy, Network and IgnoreCache come from BuildKit's standard
	// options (build args, force-network-mode, no-cache).
	Proxy       *llb.ProxyEnv
	Network     pb.NetMode
	IgnoreCache bool
	// NoContentHash is set when the builder can keep whole image roots
	// out of content-based cache matching (pb.CapExecMountContentCache):
	// it saves checksumming the original root on every cold step.
	NoContentHash bool
	// SourceDateEpoch is the build arg SOURCE_DATE_EPOCH, when set.
	SourceDateEpoch *time.Time
}

// epoch is the time the files of the layer get: SOURCE_DATE_EPOCH, else
// the image's own creation time, so that the same image patched the same
// way gives the same layer on every run and builder.
func (e Env) epoch() time.Time {
	if e.SourceDateEpoch != nil {
		return *e.SourceDateEpoch
	}
	if c := e.Image.Config.Created; c != nil {
		return *c
	}
	return time.Unix(0, 0)
}

// upgrade is the family's request for this platform.
func (in Inspection) upgrade(e Env) distros.Upgrade {
	return distros.Upgrade{
		Release:      in.Release,
		Manager:      in.Installed.Manager,
		Database:     in.Installed.Database,
		Tooling:      e.Tooling != nil,
		Mirrors:      e.Options.Mirrors,
		FetchTimeout: e.Options.FetchTimeout,
		SkipMissing:  e.Options.IgnoreErrors,
		Epoch:        e.epoch(),
	}
}

// runner is where the family's steps run.
func (in Inspection) runner(e Env) darnllb.Runner {
	r := darnllb.Runner{
		Family: in.Family.Name(), Platform: e.Platform,
		Target: e.Image.State, TargetRef: e.Image.Pinned,
		Proxy: e.Proxy, Network: e.Network, IgnoreCache: e.IgnoreCache,
		NoContentHash: e.NoContentHash,
	}
	if e.Tooling != nil {
		r.Tooling, r.ToolingRef = e.Tooling.State, e.Tooling.Pinned
	}
	return r
}

// Upgrade returns the LLB of the patched root: the image with the plan's
// upgrades applied in one step, so that exporting it adds exactly one
// layer.
func (in Inspection) Upgrade(p plan.Plan, e Env) (llb.State, error) {
	u := in.upgrade(e)
	u.Plan = p
	// In update-all mode the probe (Upgradable) ran first, on the same
	// cache mounts.
	u.Refreshed = e.Options.UpdateAll
	s, err := in.Family.Upgrade(u)
	if err != nil {
		return llb.State{}, err
	}
	return darnllb.Run(s, in.runner(e)), nil
}

// Upgradable returns the LLB of the update-all probe and the file in it
// that holds the answer for PlanUpgradable.
func (in Inspection) Upgradable(e Env) (llb.State, string, error) {
	u := in.upgrade(e)
	u.Installed = in.Installed.Packages
	s, err := in.Family.Upgradable(u)
	if err != nil {
		return llb.State{}, "", err
	}
	return darnllb.Run(s, in.runner(e)), "/" + s.Answer, nil
}

// Available returns, for a family whose package managers cannot choose
// the lowest version at or above a fix themselves (distros.Pinner), the
// LLB of the step that lists what the repositories offer for the plan's
// upgrades and the file in it that holds the answer for Pin; ok is false
// for the other families, whose upgrade step chooses.
func (in Inspection) Available(p plan.Plan, e Env) (st llb.State, answer string, ok bool, err error) {
	pinner, ok := in.Family.(distros.Pinner)
	if !ok {
		return llb.State{}, "", false, nil
	}
	u := in.upgrade(e)
	u.Plan = p
	s, err := pinner.Available(u)
	if err != nil {
		return llb.State{}, "", true, err
	}
	return darnllb.Run(s, in.runner(e)), "/" + s.Answer, true, nil
}

// Pin chooses each upgrade's exact version from the Available step's
// answer (see distros.Pinner).
func (in Inspection) Pin(p plan.Plan, answer []byte, e Env) (plan.Plan, error) {
	pinner, ok := in.Family.(distros.Pinner)
	if !ok {
		return p, nil
	}
	return pinner.Pin(p, answer, e.Options.IgnoreErrors)
}
