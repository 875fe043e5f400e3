package llb

import (
	"fmt"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// ScriptDir is where RunScript mounts its script inside the container.
const ScriptDir = "/run/darn/script"

// BaseDir is where steps mount the untouched original root, read-only, so
// that a script can restore files it must not change.
const BaseDir = "/run/darn/base"

// RunScript runs a constant shell script with args as its positional
// parameters. The script travels as a read-only file mount and never
// through string interpolation, so package names and versions from a report
// can never become shell syntax.
func RunScript(name, script string, args ...string) llb.RunOption {
	file := llb.Scratch().File(
		llb.Mkfile(name, 0o555, []byte(script)),
		llb.WithCustomName("[internal] darn script "+name),
	)
	argv := append([]string{"/bin/sh", ScriptDir + "/" + name}, args...)
	return runOptions{
		llb.AddMount(ScriptDir, file, llb.Readonly),
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

// Env sets environment variables on a run, in the order given. Callers pass
// sorted pairs so that the marshalled LLB, and so the cache key, does not
// depend on map iteration order.
func Env(pairs [][2]string) llb.RunOption {
	opts := make(runOptions, 0, len(pairs))
	for _, kv := range pairs {
		opts = append(opts, llb.AddEnv(kv[0], kv[1]))
	}
	return opts
}
