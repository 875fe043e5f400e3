package llb

import (
	"slices"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
)

// defaultPath is set on every step because an llb.Image state carries no
// environment unless resolved, and the image's own PATH may be empty.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Runner says where a family's step runs and how.
type Runner struct {
	// Family names the family whose step it is, for cache IDs.
	Family string
	// Platform is the image platform the step runs as.
	Platform ocispecs.Platform
	// Target is the image being patched, pinned by digest as TargetRef.
	// BuildKit also matches exec steps by their inputs' file contents:
	// the step carries TargetRef as DARN_BASE_IMAGE so that an image
	// whose files equal another's (pushed again with new timestamps or
	// compression) never gets the other's cached result.
	Target    llb.State
	TargetRef string
	// Tooling is the tooling image, pinned as ToolingRef, for steps that
	// run in it; unset otherwise.
	Tooling    llb.State
	ToolingRef string
	// Proxy holds the proxy build args. BuildKit passes them to the step
	// but keeps them out of its cache key, as the Dockerfile frontend
	// does, so that credentials in a proxy URL decide nothing cached.
	Proxy *llb.ProxyEnv
	// Network is the step's network mode; zero is BuildKit's sandbox.
	Network pb.NetMode
	// IgnoreCache re-runs the step even when BuildKit has it cached.
	IgnoreCache bool
	// NoContentHash keeps the mounts of whole image roots out of
	// BuildKit's content-based cache matching (see wholeRoot); only for
	// builders with pb.CapExecMountContentCache.
	NoContentHash bool
}

// Run returns the state a family's step produces: the patched root (the
// image's own root, or the target mount of a tooling step), or the
// step's Output directory. The upgraded root is exported as is: its one
// exec step on the pinned image is exactly one new layer (no Diff/Merge,
// which old builders lack and which BuildKit v0.34 hands back broken when
// a patched tag is patched again).
func Run(s distros.Step, r Runner) llb.State {
	runner := r.Target
	if s.InTooling {
		runner = r.Tooling
	}
	run := runner.User("root").Dir("/").Run(r.options(s)...)
	var target llb.State
	if s.InTooling {
		target = run.AddMount(distros.TargetDir, r.Target, wholeRoot(r.NoContentHash)...)
	}
	switch {
	case s.Output != "":
		return run.AddMount(s.Output, llb.Scratch())
	case s.InTooling:
		return target
	}
	return run.Root()
}

// options are the run options of a step: script and arguments, the
// environment every step has and its own, its mounts and its policy.
func (r Runner) options(s distros.Step) []llb.RunOption {
	opts := []llb.RunOption{
		command(s),
		llb.AddEnv("PATH", defaultPath),
		llb.AddEnv("DARN_BASE", distros.BaseDir),
		BaseMount(r.Target, r.NoContentHash),
		Named(r.Platform, "%s", s.Name),
	}
	if s.InTooling {
		opts = append(opts, llb.AddEnv("DARN_TARGET", distros.TargetDir))
	}
	if r.TargetRef != "" {
		opts = append(opts, llb.AddEnv("DARN_BASE_IMAGE", r.TargetRef))
	}
	for _, kv := range s.Env {
		opts = append(opts, llb.AddEnv(kv[0], kv[1]))
	}
	for _, c := range s.Caches {
		opts = append(opts, llb.AddMount(c.Path, llb.Scratch(), llb.AsPersistentCacheDir(r.CacheID(s, c), llb.CacheMountLocked)))
	}
	for _, p := range s.Tmpfs {
		opts = append(opts, llb.AddMount(p, llb.Scratch(), llb.Tmpfs()))
	}
	return append(opts, r.policy()...)
}

// command runs the step's program, or its script.
func command(s distros.Step) llb.RunOption {
	if len(s.Command) > 0 {
		return llb.Args(append(slices.Clone(s.Command), s.Args...))
	}
	return RunScript(s.ScriptName, s.Script, s.Args...)
}

// policy are the options users choose: proxies, network, cache.
func (r Runner) policy() []llb.RunOption {
	var opts []llb.RunOption
	if r.Proxy != nil {
		opts = append(opts, llb.WithProxy(*r.Proxy))
	}
	if r.Network != pb.NetMode_UNSET {
		opts = append(opts, llb.Network(r.Network))
	}
	if r.IgnoreCache {
		opts = append(opts, llb.IgnoreCache)
	}
	return opts
}

// CacheID returns the ID of one of a step's cache mounts. The programs of
// the image the step runs in can write anything into it: a hostile
// image's apt-get could plant a package file that apt, which reuses an
// archive of the right size without checking it again, would install
// into the next image patched. So each family, platform and image whose
// programs run the step (by digest) has caches of its own: what an image
// writes there is only ever read by patches of that same image.
func (r Runner) CacheID(s distros.Step, c distros.Cache) string {
	key := ImageKey(r.TargetRef)
	switch {
	case s.InTooling && s.CachePerTarget:
		key = ImageKey(r.ToolingRef) + "-" + key
	case s.InTooling:
		key = ImageKey(r.ToolingRef)
	}
	return "darn-" + r.Family + "-" + platforms.FormatAll(platforms.Normalize(r.Platform)) + "-" + key + "-" + c.Name
}
