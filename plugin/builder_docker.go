package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/moby/buildkit/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	dockerclient "github.com/moby/moby/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// daemonDialer reaches targets for real: a BuildKit address directly, the
// docker and docker-container drivers through the Docker API.
type daemonDialer struct {
	api     func(endpoint string) (dockerclient.APIClient, error) // Docker API of a context or host
	stderr  io.Writer                                             // stderr of "buildctl dial-stdio"
	timeout time.Duration                                         // how long a daemon has to answer, from the first API call
}

// newDaemonDialer returns the dialer connectBuilder uses.
func newDaemonDialer(dockerCLI command.Cli) daemonDialer {
	return daemonDialer{
		api:     func(endpoint string) (dockerclient.APIClient, error) { return dockerAPI(dockerCLI, endpoint) },
		stderr:  dockerCLI.Err(),
		timeout: probeTimeout,
	}
}

// dial opens a client to t and checks that it answers in time. The
// timeout cannot cut the client's connections short: client.New keeps no
// context once it returns, and each connection gets its own from gRPC.
func (d daemonDialer) dial(ctx context.Context, t builderTarget) (*client.Client, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	c, err := d.open(ctx, t)
	if err != nil {
		return nil, "", err
	}
	version, err := probe(ctx, c)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", d.timeout, err)
	}
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return c, version, nil
}

// open returns a client for t without talking to BuildKit yet.
func (d daemonDialer) open(ctx context.Context, t builderTarget) (*client.Client, error) {
	if t.Driver == driverRemote {
		return client.New(ctx, t.Endpoint, t.tls.clientOpts(t.Endpoint)...)
	}
	api, err := d.api(t.docker)
	if err != nil {
		return nil, err
	}
	if t.Driver == driverDockerContainer {
		return d.containerBuildkit(ctx, api, t)
	}
	return dockerBuildkit(ctx, api)
}

// dockerBuildkit is a client for the BuildKit built into a Docker daemon,
// reached by upgrading Docker API connections (buildx driver/docker).
func dockerBuildkit(ctx context.Context, api dockerclient.HijackDialer) (*client.Client, error) {
	return client.New(ctx, "",
		client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return api.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		client.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return api.DialHijack(ctx, "/session", proto, meta)
		}))
}

// containerBuildkit is a client for the buildkitd of a docker-container
// node: each connection runs "buildctl dial-stdio" in the node's container
// (buildx driver/docker-container). docker-patch does not start builders;
// buildx does that when it boots one.
func (d daemonDialer) containerBuildkit(ctx context.Context, api dockerclient.APIClient, t builderTarget) (*client.Client, error) {
	res, err := api.ContainerInspect(ctx, t.container, dockerclient.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s does not exist: start the builder with \"docker buildx inspect --bootstrap %s\"", t.container, t.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting container %s: %w", t.container, err)
	}
	if res.Container.State == nil || !res.Container.State.Running {
		return nil, fmt.Errorf("container %s is not running: start the builder with \"docker buildx inspect --bootstrap %s\"", t.container, t.Name)
	}
	return client.New(ctx, "", client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return dialStdio(ctx, api, t.container, d.stderr)
	}))
}

// dialStdio runs "buildctl dial-stdio" in a container and returns its
// stdin and stdout as a connection to buildkitd.
func dialStdio(ctx context.Context, api dockerclient.ExecAPIClient, container string, stderr io.Writer) (net.Conn, error) {
	exec, err := api.ExecCreate(ctx, container, dockerclient.ExecCreateOptions{
		Cmd:          []string{"buildctl", "dial-stdio"},
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("creating buildctl dial-stdio in %s: %w", container, err)
	}
	resp, err := api.ExecAttach(ctx, exec.ID, dockerclient.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("attaching to buildctl dial-stdio in %s: %w", container, err)
	}
	return demuxConn(resp.Conn, stderr), nil
}

// demuxConn reads the stdout of an exec without a TTY, whose output
// Docker multiplexes with stderr, and writes to its stdin unchanged.
func demuxConn(c net.Conn, stderr io.Writer) net.Conn {
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, stderr, c)
		pw.CloseWithError(err)
	}()
	return &demuxedConn{Conn: c, stdout: pr}
}

// demuxedConn is a connection whose reads come from the demultiplexed
// stdout.
type demuxedConn struct {
	net.Conn
	stdout io.Reader
}

// Read reads the exec's stdout.
func (c *demuxedConn) Read(p []byte) (int, error) { return c.stdout.Read(p) }

// dockerAPI returns a Docker API client for a docker context name or a
// docker host, reusing the CLI's own client for its current endpoint. Like
// buildx, a name without "://" is a context. The new client is not closed:
// BuildKit connections dial through it for as long as the plugin runs.
func dockerAPI(dockerCLI command.Cli, endpoint string) (dockerclient.APIClient, error) {
	if endpoint == "" || endpoint == dockerCLI.CurrentContext() || endpoint == dockerCLI.DockerEndpoint().Host {
		return dockerCLI.Client(), nil
	}
	ep := docker.Endpoint{EndpointMeta: docker.EndpointMeta{Host: endpoint}}
	if !strings.Contains(endpoint, "://") {
		var err error
		if ep, err = contextEndpoint(dockerCLI, endpoint); err != nil {
			return nil, err
		}
	}
	opts, err := ep.ClientOpts()
	if err != nil {
		return nil, fmt.Errorf("configuring Docker API client for %s: %w", endpoint, err)
	}
	api, err := dockerclient.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating Docker API client for %s: %w", endpoint, err)
	}
	return api, nil
}

// contextEndpoint reads a docker context's endpoint with its TLS material.
func contextEndpoint(dockerCLI command.Cli, name string) (docker.Endpoint, error) {
	meta, err := dockerCLI.ContextStore().GetMetadata(name)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	epMeta, err := docker.EndpointFromContext(meta)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	ep, err := docker.WithTLSData(dockerCLI.ContextStore(), name, epMeta)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("reading TLS data of docker context %q: %w", name, err)
	}
	return ep, nil
}

// probe makes a cheap call and returns the daemon's BuildKit version. The
// BuildKit inside Docker before 23.0 lacks the Info call; that it lists
// its workers is answer enough.
func probe(ctx context.Context, c *client.Client) (string, error) {
	info, err := c.Info(ctx)
	if status.Code(err) == codes.Unimplemented {
		_, err = c.ListWorkers(ctx)
		info = &client.Info{}
	}
	if err != nil {
		return "", err
	}
	return info.BuildkitVersion.Version, nil
}
