package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	"github.com/spf13/pflag"

	// Connection helpers make --addr and remote builders accept the same
	// schemes as buildctl (docker-container://, ssh://, kube-pod://, ...).
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

// Environment variables that choose a BuildKit daemon, read as buildctl and
// buildx read them.
const (
	envBuildkitHost  = "BUILDKIT_HOST"
	envBuildxBuilder = "BUILDX_BUILDER"
	envBuildxConfig  = "BUILDX_CONFIG"
)

// probeTimeout bounds the cheap call that tells whether a daemon answers.
const probeTimeout = 5 * time.Second

// builderOptions are the flags that choose a BuildKit daemon.
type builderOptions struct {
	addr, builder                             string
	tlsCACert, tlsCert, tlsKey, tlsServerName string
}

// addBuilderFlags registers the flags that choose a BuildKit daemon.
func addBuilderFlags(f *pflag.FlagSet, o *builderOptions) {
	f.StringVar(&o.addr, "addr", "", `BuildKit daemon address, e.g. "tcp://buildkitd:1234" (default $BUILDKIT_HOST)`)
	f.StringVar(&o.builder, "builder", "", "Buildx builder to use (default $BUILDX_BUILDER, else the current buildx builder, else the Docker daemon's BuildKit)")
	f.StringVar(&o.tlsCACert, "tlscacert", "", "CA certificate that signed a tcp:// daemon's certificate (default: the system's CAs)")
	f.StringVar(&o.tlsCert, "tlscert", "", "Client certificate for a tcp:// daemon, with --tlskey")
	f.StringVar(&o.tlsKey, "tlskey", "", "Client private key for a tcp:// daemon, with --tlscert")
	f.StringVar(&o.tlsServerName, "tlsservername", "", "Name the daemon's certificate must carry (default: the host of the address)")
}

// validate checks the flags alone, before the environment is consulted.
func (o builderOptions) validate() error {
	switch {
	case o.addr != "" && o.builder != "":
		return usageError{errors.New("--addr and --builder both choose the BuildKit daemon: pass one of them")}
	case o.tlsCert != "" && o.tlsKey == "":
		return usageError{errors.New("--tlscert needs --tlskey: a client certificate is presented with its private key")}
	case o.tlsKey != "" && o.tlsCert == "":
		return usageError{errors.New("--tlskey needs --tlscert: a client private key is presented with its certificate")}
	case o.builder != "" && o.tls().enabled():
		return usageError{errors.New("--tlscacert, --tlscert, --tlskey and --tlsservername apply to --addr: a buildx builder keeps its TLS settings in its driver options")}
	}
	return nil
}

// tls returns the TLS flags.
func (o builderOptions) tls() tlsFiles {
	return tlsFiles{caCert: o.tlsCACert, cert: o.tlsCert, key: o.tlsKey, serverName: o.tlsServerName}
}

// tlsFiles are the TLS settings of a tcp:// daemon, as paths to PEM files.
type tlsFiles struct{ caCert, cert, key, serverName string }

// enabled reports whether any TLS setting is present.
func (t tlsFiles) enabled() bool { return t != tlsFiles{} }

// clientOpts turns the settings into BuildKit client options for addr.
// Like buildctl, the server name defaults to the address's host; unlike
// buildctl, no --tlscacert means the system's CAs rather than none at all,
// so a daemon with a public certificate needs no flag but --tlsservername.
func (t tlsFiles) clientOpts(addr string) []client.ClientOpt {
	if !t.enabled() {
		return nil
	}
	name := t.serverName
	if u, err := url.Parse(addr); name == "" && err == nil {
		name = u.Hostname()
	}
	opts := []client.ClientOpt{client.WithServerConfigSystem(name)}
	if t.caCert != "" {
		opts = []client.ClientOpt{client.WithServerConfig(name, t.caCert)}
	}
	if t.cert != "" {
		opts = append(opts, client.WithCredentials(t.cert, t.key))
	}
	return opts
}

// Drivers of buildx builders that connectBuilder can reach.
const (
	driverRemote          = "remote"
	driverDockerContainer = "docker-container"
	driverDocker          = "docker"
)

// builderInfo says which BuildKit daemon connectBuilder reached.
type builderInfo struct {
	Name     string // buildx builder or docker context; empty for a bare address
	Driver   string // remote, docker-container or docker
	Endpoint string // BuildKit address (remote), or docker context or host
	Node     string // buildx node; docker-container runs buildx_buildkit_<Node>
	Version  string // BuildKit version the daemon reports, if it does
}

// String describes the daemon for "using builder ..." messages.
func (b builderInfo) String() string {
	var details []string
	s := b.Endpoint
	if b.Name != "" {
		s = strconv.Quote(b.Name)
		details = append(details, b.Driver+" driver")
		if where := b.location(); where != "" {
			details = append(details, where)
		}
	}
	if b.Version != "" {
		details = append(details, "BuildKit "+b.Version)
	}
	if len(details) == 0 {
		return s
	}
	return s + " (" + strings.Join(details, ", ") + ")"
}

// location says where a builder's daemon runs, unless its name says it.
func (b builderInfo) location() string {
	switch {
	case b.Driver == driverDockerContainer:
		return fmt.Sprintf("container %s on %s", containerName(b.Node), b.Endpoint)
	case b.Driver == driverDocker && b.Endpoint == b.Name:
		return ""
	}
	return b.Endpoint
}

// containerName is the container buildx runs a docker-container node in.
func containerName(node string) string { return "buildx_buildkit_" + node }

// connectBuilder returns a client for the first BuildKit daemon that
// answers, looking where buildx looks: --addr, --builder, $BUILDKIT_HOST,
// $BUILDX_BUILDER, buildx's current builder for the current docker
// context, then the Docker daemon's own BuildKit. An explicit choice (the
// first four) that fails is an error; only the implicit ones fall through.
func connectBuilder(ctx context.Context, dockerCLI command.Cli, o builderOptions, getenv func(string) string) (*client.Client, builderInfo, error) {
	if err := o.validate(); err != nil {
		return nil, builderInfo{}, err
	}
	f := builderFinder{
		opts:   o,
		getenv: getenv,
		store:  buildxStore{dir: buildxDir(dockerCLI, getenv)},
		docker: currentDockerContext(dockerCLI),
		dial:   newDaemonDialer(dockerCLI).dial,
		warn:   dockerCLI.Err(),
	}
	return f.find(ctx)
}

// builderTarget is one daemon to try: a bare address, or one node of a
// builder.
type builderTarget struct {
	builderInfo
	tls       tlsFiles // remote: TLS settings
	docker    string   // docker, docker-container: docker context or host
	container string   // docker-container: container running buildkitd
}

// dialFunc opens a client to a target and checks that the daemon answers.
// It returns the daemon's BuildKit version when the daemon reports one.
type dialFunc func(ctx context.Context, t builderTarget) (*client.Client, string, error)

// builderFinder walks connectBuilder's search order. Its inputs are fields
// so that tests can fake the environment, the buildx store and dialing.
type builderFinder struct {
	opts   builderOptions
	getenv func(string) string
	store  buildxStore
	docker dockerContext
	dial   dialFunc
	warn   io.Writer // told about implicit choices skipped on the way
}

// source is one step of the search order.
type source struct {
	label    string // e.g. "--addr", "current buildx builder"
	explicit bool   // chosen by the user: its failure ends the search
	targets  func() ([]builderTarget, error)
}

// errNotConfigured marks a step with nothing to try, such as no current
// buildx builder: worth listing when nothing answers, not worth a warning.
var errNotConfigured = errors.New("none chosen")

// find tries the sources in order and returns the first daemon that
// answers.
func (f builderFinder) find(ctx context.Context) (*client.Client, builderInfo, error) {
	sources, err := f.plan()
	if err != nil {
		return nil, builderInfo{}, err
	}
	var attempts []error
	for _, s := range sources {
		c, info, err := f.try(ctx, s)
		if err == nil {
			f.warnSkipped(attempts, info)
			return c, info, nil
		}
		if s.explicit {
			return nil, builderInfo{}, fmt.Errorf("connecting to BuildKit: %w", err)
		}
		attempts = append(attempts, err)
	}
	return nil, builderInfo{}, &noBuilderError{attempts: attempts}
}

// warnSkipped tells the user which implicit choices failed before info
// answered, so that a stopped builder does not go unnoticed.
func (f builderFinder) warnSkipped(attempts []error, info builderInfo) {
	warned := false
	for _, err := range attempts {
		if !errors.Is(err, errNotConfigured) {
			fmt.Fprintf(f.warn, "WARNING: %v\n", err)
			warned = true
		}
	}
	if warned {
		fmt.Fprintf(f.warn, "WARNING: using %s instead\n", info)
	}
}

// plan returns the search order. An explicit choice is the only step:
// flags come before environment variables, as everywhere in the docker CLI.
func (f builderFinder) plan() ([]source, error) {
	o := f.opts
	switch {
	case o.addr != "":
		return f.addrSource("--addr", o.addr)
	case o.builder != "":
		return []source{f.namedSource("--builder", o.builder)}, nil
	case f.getenv(envBuildkitHost) != "":
		return f.addrSource("$"+envBuildkitHost, f.getenv(envBuildkitHost))
	case o.tls().enabled():
		return nil, usageError{errors.New("--tlscacert, --tlscert, --tlskey and --tlsservername need a tcp:// address in --addr or $BUILDKIT_HOST")}
	case f.getenv(envBuildxBuilder) != "":
		return []source{f.namedSource("$"+envBuildxBuilder, f.getenv(envBuildxBuilder))}, nil
	}
	return []source{f.currentSource(), f.dockerSource()}, nil
}

// addrSource is a bare BuildKit address. TLS flags only go with tcp://.
func (f builderFinder) addrSource(label, addr string) ([]source, error) {
	tls := f.opts.tls()
	if tls.enabled() && !strings.HasPrefix(addr, "tcp://") {
		return nil, usageError{fmt.Errorf("--tlscacert, --tlscert, --tlskey and --tlsservername apply to tcp:// addresses, not to %s %s", label, addr)}
	}
	t := builderTarget{builderInfo: builderInfo{Driver: driverRemote, Endpoint: addr}, tls: tls}
	return []source{{label: label, explicit: true, targets: func() ([]builderTarget, error) {
		return []builderTarget{t}, nil
	}}}, nil
}

// namedSource is a builder named by the user.
func (f builderFinder) namedSource(label, name string) source {
	return source{label: label, explicit: true, targets: func() ([]builderTarget, error) {
		return f.namedTargets(name)
	}}
}

// currentSource is buildx's current builder for the current docker context.
func (f builderFinder) currentSource() source {
	return source{label: "current buildx builder", targets: f.currentTargets}
}

// dockerSource is the BuildKit built into the current context's daemon.
func (f builderFinder) dockerSource() source {
	t := builderTarget{
		builderInfo: builderInfo{Name: f.docker.name, Driver: driverDocker, Endpoint: f.docker.host},
		docker:      f.docker.name,
	}
	return source{label: "Docker daemon of context", targets: func() ([]builderTarget, error) {
		return []builderTarget{t}, nil
	}}
}

// try dials the targets of one source, node after node, and returns the
// first that answers.
func (f builderFinder) try(ctx context.Context, s source) (*client.Client, builderInfo, error) {
	targets, err := s.targets()
	if err == nil && len(targets) == 0 {
		err = errors.New("nothing to dial")
	}
	if err != nil {
		return nil, builderInfo{}, fmt.Errorf("%s: %w", s.label, err)
	}
	var errs []error
	for _, t := range targets {
		c, version, err := f.dial(ctx, t)
		if err == nil {
			t.Version = version
			return c, t.builderInfo, nil
		}
		errs = append(errs, fmt.Errorf("%s %s: %w", s.label, t.builderInfo, err))
	}
	return nil, builderInfo{}, errors.Join(errs...)
}

// noBuilderError lists every way connectBuilder tried to reach BuildKit.
type noBuilderError struct{ attempts []error }

// Error lists the attempts in order and says how to name a daemon.
func (e *noBuilderError) Error() string {
	var b strings.Builder
	b.WriteString("no BuildKit daemon answered; tried, in order:")
	for _, err := range e.attempts {
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(err.Error(), "\n", "\n  - "))
	}
	b.WriteString("\npass --addr (e.g. tcp://buildkitd:1234 or unix:///run/buildkit/buildkitd.sock), set BUILDKIT_HOST, " +
		"choose a builder with --builder or BUILDX_BUILDER, or create one with \"docker buildx create --use\"")
	return b.String()
}

// Unwrap returns the attempts' errors.
func (e *noBuilderError) Unwrap() []error { return e.attempts }
