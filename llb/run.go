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
// the step's own.
func BaseMount(base llb.State) llb.RunOption {
	own := base.File(llb.Mkdir("/", 0o755, llb.WithParents(true)), llb.WithCustomName("[internal] darn original root"))
	return llb.AddMount(distros.BaseDir, own, llb.Readonly)
}
