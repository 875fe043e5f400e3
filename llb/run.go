package llb

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
)

// RunScript runs a constant shell script with args as its positional
// parameters. The script travels as a read-only file mount and never
// through string interpolation, so package names and versions from a report
// can never become shell syntax.
func RunScript(name, script string, args ...string) llb.RunOption {
	file := llb.Scratch().File(
		llb.Mkfile(name, 0o555, []byte(script)),
		llb.WithCustomName("[internal] darn script "+name),
	)
	argv := append([]string{"/bin/sh", distros.ScriptDir + "/" + name}, args...)
	return runOptions{
		llb.AddMount(distros.ScriptDir, file, llb.Readonly),
		llb.Args(argv),
	}
}

// runOptions applies several run options as one.
type runOptions []llb.RunOption

// SetRunOption implements llb.RunOption.
func (o runOptions) SetRunOption(ei *llb.ExecInfo) {
	for _, opt := range o {
		opt.SetRunOption(ei)
	}
}

// Named gives a step the "[patch linux/amd64] …" name shown in BuildKit's
// progress, so users of multi-platform patches can tell steps apart.
func Named(p ocispecs.Platform, format string, a ...any) llb.ConstraintsOpt {
	return llb.WithCustomName(fmt.Sprintf("[patch %s] ", platforms.Format(p)) + fmt.Sprintf(format, a...))
}

// ImageKey names an image for cache mount IDs: its digest when the
// reference is pinned (the same bytes are the same programs, wherever
// they were pulled from), else a digest of the reference itself.
func ImageKey(ref string) string {
	if named, err := reference.ParseAnyReference(ref); err == nil {
		if d, ok := named.(reference.Digested); ok {
			return d.Digest().String()
		}
	}
	return digest.FromString(ref).String()
}

// ProxyFromBuildArgs returns the proxy settings among build args, whose
// names match case-insensitively as in the Dockerfile frontend; nil when
// there are none. Keys are visited in order, so that the last of two
// spellings of one name wins the same way on every run.
func ProxyFromBuildArgs(args map[string]string) *llb.ProxyEnv {
	var pe llb.ProxyEnv
	set := false
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		switch strings.ToLower(k) {
		case "http_proxy":
			pe.HTTPProxy = v
		case "https_proxy":
			pe.HTTPSProxy = v
		case "ftp_proxy":
			pe.FTPProxy = v
		case "no_proxy":
			pe.NoProxy = v
		case "all_proxy":
			pe.AllProxy = v
		default:
			continue
		}
		set = true
	}
	if !set {
		return nil
	}
	return &pe
}

// BaseMount mounts base, the untouched original root, read-only at
// distros.BaseDir, for a step whose root (or another mount) is base too. The mount
// goes through a no-op file op so that it is an input of its own: BuildKit
// v0.34 releases an input used by two mounts of a failing step twice
// ("releasing already released reference"), and that error then replaces
// the step's own. With noHash the mount is kept out of BuildKit's
// content-based cache matching (wholeRoot).
func BaseMount(base llb.State, noHash bool) llb.RunOption {
	own := base.File(llb.Mkdir("/", 0o755, llb.WithParents(true)), llb.WithCustomName("[internal] darn original root"))
	return llb.AddMount(distros.BaseDir, own, append(wholeRoot(noHash), llb.Readonly)...)
}

// wholeRoot are the options of a mount of a whole image root. BuildKit
// matches an exec step's read-only and whole-source mounts by a checksum
// of every file in them, so that equal contents from another definition
// hit the cache; on a cold patch that checksum of the original root took
// 0.3-0.7 s of a Debian step. darn's steps never profit from it: the
// step carries the pinned image's digest (DARN_BASE_IMAGE), which no
// other image shares. noHash is set for builders that can turn it off
// (pb.CapExecMountContentCache); older ones would reject the option.
func wholeRoot(noHash bool) []llb.MountOption {
	if !noHash {
		return nil
	}
	return []llb.MountOption{llb.ContentCache(llb.MountContentCacheOff)}
}
