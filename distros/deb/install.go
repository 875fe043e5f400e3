package deb

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/plan"
)

// The apt scripts: common.sh holds the functions all use and is
// prepended to each, so every step runs one self-contained script;
// root.sh, for the tooling step, writes into an untrusted root safely.
var (
	//go:embed common.sh
	commonScript string
	//go:embed install.sh
	installScript string
	//go:embed root.sh
	rootScript string
	//go:embed unpack.sh
	unpackScript string
)

// defaultPath is set on the step because an llb.Image state carries no
// environment unless resolved, and the image's own PATH may be empty.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Package names and versions as Debian policy allows them (§5.6.1, §5.6.12).
// They reach apt only as argv, never a shell, but a report is untrusted
// input and a clear error beats apt's.
var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	versionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)
)

// InstallOptions configures the upgrade step.
type InstallOptions struct {
	// Platform is the image platform the step runs as.
	Platform ocispecs.Platform
	// Proxy holds the proxy build args. BuildKit passes them to the step
	// as environment but keeps them out of its cache key, as the
	// Dockerfile frontend does, so credentials in a proxy URL do not
	// decide what is cached.
	Proxy *llb.ProxyEnv
	// IgnoreCache re-runs the step even when BuildKit has it cached.
	IgnoreCache bool
	// Network is the step's network mode; zero is BuildKit's sandbox.
	// apt needs a network: builders whose sandbox has none (a Docker
	// daemon run with --bridge=none) need host networking.
	Network pb.NetMode
	// Mirrors replace repository URLs while patching only.
	Mirrors []distros.Mirror
	// FetchTimeout bounds each of apt's requests (apt's
	// Acquire::http(s)::Timeout): a mirror that accepts connections and
	// never answers fails the step after at most four attempts. Zero is
	// the scripts' default, DefaultFetchTimeout.
	FetchTimeout time.Duration
	// SkipMissing leaves out, with a warning, packages whose sources offer
	// no version at or above the fixed one, instead of failing the step.
	SkipMissing bool
	// Base names the image being patched, pinned by digest; the step
	// carries it as DARN_BASE_IMAGE. BuildKit also matches exec steps by
	// their inputs' file contents: without the name, patching an image
	// whose files equal another's (the same rootfs pushed again with new
	// timestamps or compression) would return the other image's cached
	// result, its layer blobs included.
	Base string
	// Tooling names the tooling image, pinned by digest, when the steps
	// run in it rather than in the image being patched.
	Tooling string
}

// DefaultFetchTimeout is apt's per-request timeout when FetchTimeout is
// zero. apt's own default is 120 s, with darn's three retries eight
// minutes for a mirror that never answers.
const DefaultFetchTimeout = 30 * time.Second

// Install returns base with the plan's upgrades applied by apt in ONE exec
// step, so that exporting it adds exactly one layer. Each package is
// installed at the lowest version its sources offer at or above the fixed
// one. Index files, archives, logs and dpkg's backups stay on mounts or are
// restored from the read-only base, so they never reach the layer.
func Install(base llb.State, pl plan.Plan, opt InstallOptions) (llb.State, error) {
	args, err := installArgs(pl)
	if err != nil {
		return llb.State{}, err
	}
	runOpts := append(opt.stepOptions("install.sh", installScript, "apt-get install", args),
		darnllb.BaseMount(base))
	return base.User("root").Dir("/").Run(runOpts...).Root(), nil
}

// runner is the pinned reference of the image whose programs run the
// step: the tooling image when there is one, else the image itself.
func (opt InstallOptions) runner() string {
	if opt.Tooling != "" {
		return opt.Tooling
	}
	return opt.Base
}

// CacheID returns the ID of the step's apt cache mounts (index lists and
// archives, with suffixes). The image whose programs run the step can
// write anything into them: a hostile image's apt-get could plant a
// package file that apt, which reuses an archive of the right size
// without checking it again, would install into the next image patched.
// So each runner image, by digest, and platform has caches of its own:
// what an image writes there is only ever read by patches of that same
// image.
func (opt InstallOptions) CacheID() string {
	return "darn-deb-" + platforms.FormatAll(platforms.Normalize(opt.Platform)) + "-" + darnllb.ImageKey(opt.runner())
}

// stepOptions are the run options every apt step shares: the script with
// its arguments, environment, cache and tmpfs mounts, name and policy.
func (opt InstallOptions) stepOptions(name, script, what string, args []string) []llb.RunOption {
	cacheID := opt.CacheID()
	runOpts := []llb.RunOption{
		darnllb.RunScript(name, commonScript+script, args...),
		llb.AddEnv("PATH", defaultPath),
		llb.AddEnv("DARN_BASE", darnllb.BaseDir),
		llb.AddMount("/var/lib/apt/lists", llb.Scratch(), llb.AsPersistentCacheDir(cacheID+"-lists", llb.CacheMountLocked)),
		llb.AddMount("/var/cache/apt", llb.Scratch(), llb.AsPersistentCacheDir(cacheID+"-archives", llb.CacheMountLocked)),
		llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs()),
		darnllb.Named(opt.Platform, "%s %s", what, strings.Join(args, " ")),
	}
	if opt.Proxy != nil {
		runOpts = append(runOpts, llb.WithProxy(*opt.Proxy))
	}
	if opt.Base != "" {
		runOpts = append(runOpts, llb.AddEnv("DARN_BASE_IMAGE", opt.Base))
	}
	if m := mirrorPairs(opt.Mirrors); m != "" {
		runOpts = append(runOpts, llb.AddEnv("DARN_REPO_MIRRORS", m))
	}
	if opt.FetchTimeout > 0 {
		runOpts = append(runOpts, llb.AddEnv("DARN_FETCH_TIMEOUT", strconv.Itoa(int(max(opt.FetchTimeout.Seconds(), 1)))))
	}
	if opt.SkipMissing {
		runOpts = append(runOpts, llb.AddEnv("DARN_SKIP_MISSING", "1"))
	}
	if opt.IgnoreCache {
		runOpts = append(runOpts, llb.IgnoreCache)
	}
	if opt.Network != pb.NetMode_UNSET {
		runOpts = append(runOpts, llb.Network(opt.Network))
	}
	return runOpts
}

// mirrorPairs renders mirrors as the scripts read them: "ORIGINAL MIRROR"
// lines, longest original first so that a more specific prefix wins.
func mirrorPairs(mirrors []distros.Mirror) string {
	sorted := distros.SortMirrors(mirrors)
	lines := make([]string, len(sorted))
	for i, m := range sorted {
		lines[i] = m.Original + " " + m.Mirror
	}
	return strings.Join(lines, "\n")
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
	// The arguments are part of the step's cache key: same pl, same key.
	slices.Sort(args)
	return args, nil
}
