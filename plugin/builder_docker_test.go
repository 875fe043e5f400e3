package plugin

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/moby/moby/api/types/container"
	dockerclient "github.com/moby/moby/client"
)

// fakeDocker is a Docker API that knows one container and forwards BuildKit
// connections to a real buildkitd socket, as the daemon's /grpc endpoint
// and "buildctl dial-stdio" would.
type fakeDocker struct {
	dockerclient.APIClient // nil: calls other than the ones below panic
	running                map[string]bool
	buildkitd              string // unix socket path
	mu                     sync.Mutex
	execs                  []string
}

func (d *fakeDocker) ContainerInspect(_ context.Context, name string, _ dockerclient.ContainerInspectOptions) (dockerclient.ContainerInspectResult, error) {
	running, ok := d.running[name]
	if !ok {
		return dockerclient.ContainerInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + name)
	}
	return dockerclient.ContainerInspectResult{Container: container.InspectResponse{State: &container.State{Running: running}}}, nil
}

func (d *fakeDocker) ExecCreate(_ context.Context, name string, o dockerclient.ExecCreateOptions) (dockerclient.ExecCreateResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.execs = append(d.execs, name+": "+strings.Join(o.Cmd, " "))
	return dockerclient.ExecCreateResult{ID: "exec1"}, nil
}

// ExecAttach plays "buildctl dial-stdio": stdin goes to buildkitd as is,
// buildkitd's answers come back framed as Docker's stdout stream.
func (d *fakeDocker) ExecAttach(ctx context.Context, _ string, _ dockerclient.ExecAttachOptions) (dockerclient.ExecAttachResult, error) {
	bk, err := (&net.Dialer{}).DialContext(ctx, "unix", d.buildkitd)
	if err != nil {
		return dockerclient.ExecAttachResult{}, err
	}
	ours, theirs := net.Pipe()
	go func() { _, _ = io.Copy(bk, theirs); bk.Close() }()
	go func() { _, _ = io.Copy(&stdoutFramer{w: theirs}, bk); theirs.Close() }()
	return dockerclient.ExecAttachResult{HijackedResponse: dockerclient.NewHijackedResponse(ours, "")}, nil
}

func (d *fakeDocker) DialHijack(ctx context.Context, url, proto string, _ map[string][]string) (net.Conn, error) {
	if url != "/grpc" || proto != "h2c" {
		return nil, fmt.Errorf("unexpected hijack of %s to %s", url, proto)
	}
	return (&net.Dialer{}).DialContext(ctx, "unix", d.buildkitd)
}

// stdoutFramer writes Docker's multiplexed stream format: an 8-byte header
// (stream, 0, 0, 0, big-endian length) before every chunk.
type stdoutFramer struct{ w io.Writer }

func (f *stdoutFramer) Write(p []byte) (int, error) {
	return f.frame(1, p)
}

func (f *stdoutFramer) frame(stream byte, p []byte) (int, error) {
	hdr := [8]byte{stream}
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := f.w.Write(append(hdr[:], p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func TestDemuxConn(t *testing.T) {
	ours, theirs := net.Pipe()
	var stderr bytes.Buffer
	c := demuxConn(ours, &stderr)
	go func() {
		f := &stdoutFramer{w: theirs}
		_, _ = f.frame(1, []byte("hello "))
		_, _ = f.frame(2, []byte("a warning"))
		_, _ = f.frame(1, []byte("world"))
		theirs.Close()
	}()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello world" || stderr.String() != "a warning" {
		t.Errorf("read %q, %v with stderr %q; want stdout \"hello world\", stderr \"a warning\"", got, err, stderr.String())
	}
}

func TestContainerBuildkitNotRunning(t *testing.T) {
	api := &fakeDocker{running: map[string]bool{"buildx_buildkit_stopped0": false}}
	d := daemonDialer{api: func(string) (dockerclient.APIClient, error) { return api, nil }, timeout: time.Second}
	cases := map[string]string{
		"stopped0": `container buildx_buildkit_stopped0 is not running: start the builder with "docker buildx inspect --bootstrap b"`,
		"gone0":    `container buildx_buildkit_gone0 does not exist: start the builder with "docker buildx inspect --bootstrap b"`,
	}
	for node, want := range cases {
		ng := nodeGroup{Name: "b", Driver: driverDockerContainer, Nodes: []buildxNode{{Name: node, Endpoint: dockerSock}}}
		targets, err := ng.targets()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.dial(t.Context(), targets[0]); err == nil || err.Error() != want {
			t.Errorf("%s: error = %v, want %s", node, err, want)
		}
	}
	if len(api.execs) > 0 {
		t.Errorf("exec'd %q in containers that are not running", api.execs)
	}
}

func TestProbeNoDaemon(t *testing.T) {
	d := daemonDialer{timeout: time.Second}
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, _, err := d.dial(t.Context(), builderTarget{builderInfo: builderInfo{Driver: driverRemote, Endpoint: "unix://" + sock}})
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Errorf("dialing a missing socket: %v", err)
	}
}

func TestProbeTimeout(t *testing.T) {
	// A daemon that accepts connections and never speaks.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	d := daemonDialer{timeout: 200 * time.Millisecond}
	start := time.Now()
	_, _, err = d.dial(t.Context(), builderTarget{builderInfo: builderInfo{Driver: driverRemote, Endpoint: "tcp://" + l.Addr().String()}})
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("silent daemon: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("gave up after %s, want about 200ms", elapsed)
	}
}

// testbedSocket returns the test bed's buildkitd socket, or skips.
func testbedSocket(t *testing.T) (addr, path string) {
	t.Helper()
	addr = os.Getenv(envBuildkitHost)
	if testing.Short() || !strings.HasPrefix(addr, "unix://") {
		t.Skip("needs the test bed's buildkitd: BUILDKIT_HOST=unix://... and not -short")
	}
	return addr, strings.TrimPrefix(addr, "unix://")
}

// TestDockerPathsTestbed drives the docker and docker-container code paths
// against a real buildkitd behind a fake Docker API.
func TestDockerPathsTestbed(t *testing.T) {
	_, sock := testbedSocket(t)
	api := &fakeDocker{running: map[string]bool{"buildx_buildkit_bk0": true}, buildkitd: sock}
	d := daemonDialer{api: func(string) (dockerclient.APIClient, error) { return api, nil }, stderr: os.Stderr, timeout: 10 * time.Second}
	targets := map[string]builderTarget{
		"docker":           {builderInfo: builderInfo{Name: "default", Driver: driverDocker, Endpoint: dockerSock}, docker: "default"},
		"docker-container": {builderInfo: builderInfo{Name: "bk", Driver: driverDockerContainer, Endpoint: dockerSock, Node: "bk0"}, docker: dockerSock, container: "buildx_buildkit_bk0"},
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c, version, err := d.dial(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if version == "" {
				t.Error("no BuildKit version")
			}
			if ws, err := c.ListWorkers(ctx); err != nil || len(ws) == 0 {
				t.Errorf("ListWorkers = %v, %v", ws, err)
			}
		})
	}
	if len(api.execs) == 0 || api.execs[0] != "buildx_buildkit_bk0: buildctl dial-stdio" {
		t.Errorf("execs = %q, want buildctl dial-stdio in buildx_buildkit_bk0", api.execs)
	}
}

// TestConnectBuilderTestbed runs connectBuilder with a real docker CLI whose
// config directory holds a buildx store naming the test bed's buildkitd.
func TestConnectBuilderTestbed(t *testing.T) {
	addr, _ := testbedSocket(t)
	dir := t.TempDir()
	// docker/cli keeps its config directory in a package variable.
	prev := config.Dir()
	config.SetDir(dir)
	t.Cleanup(func() { config.SetDir(prev) })
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	if err := dockerCLI.Initialize(cliflags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	key := dockerCLI.DockerEndpoint().Host
	writeStore(t, filepath.Join(dir, "buildx"), addr, key)

	env := map[string]string{envBuildkitHost: ""} // the store, not the environment
	cases := map[string]builderOptions{"--builder": {builder: "testbed"}, "current builder": {}}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			c, info, err := connectBuilder(t.Context(), dockerCLI, o, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if info.Name != "testbed" || info.Driver != driverRemote || info.Endpoint != addr || info.Version == "" {
				t.Errorf("info = %+v", info)
			}
			t.Logf("using builder %s", info)
		})
	}
}

// writeStore writes a buildx store with the remote builder "testbed",
// current for the docker endpoint key.
func writeStore(t *testing.T, dir, addr, key string) {
	t.Helper()
	ng := `{"Name":"testbed","Driver":"remote","Nodes":[{"Name":"testbed0","Endpoint":"` + addr +
		`","Platforms":null,"DriverOpts":null,"Flags":null,"Files":null}],"Dynamic":false}`
	current := `{"Key":"` + key + `","Name":"testbed","Global":false}`
	if err := os.MkdirAll(filepath.Join(dir, "instances"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "instances", "testbed"), []byte(ng), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "current"), []byte(current), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConnectDockerDaemonTestbed falls through to the BuildKit of the test
// bed's Docker daemon (DARN_DOCKER_HOST): no explicit choice, no buildx
// store.
func TestConnectDockerDaemonTestbed(t *testing.T) {
	host := os.Getenv("DARN_DOCKER_HOST")
	if testing.Short() || host == "" {
		t.Skip("needs the test bed's Docker daemon: DARN_DOCKER_HOST and not -short")
	}
	prev := config.Dir()
	config.SetDir(t.TempDir())
	t.Cleanup(func() { config.SetDir(prev) })
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	opts := cliflags.NewClientOptions()
	opts.Hosts = []string{host}
	if err := dockerCLI.Initialize(opts); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c, info, err := connectBuilder(ctx, dockerCLI, builderOptions{}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if info.Driver != driverDocker || info.Endpoint != host {
		t.Errorf("info = %+v, want the docker driver at %s", info, host)
	}
	ws, err := c.ListWorkers(ctx)
	if err != nil || len(ws) == 0 {
		t.Fatalf("ListWorkers = %v, %v", ws, err)
	}
	t.Logf("using builder %s; worker %s %v", info, ws[0].ID, ws[0].Platforms)
}
