package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/spf13/pflag"
)

// dockerSock is the docker host of the default context in the fixtures.
const dockerSock = "unix:///var/run/docker.sock"

// fakeDialer answers for the targets it knows and records every dial.
type fakeDialer struct {
	answers map[string]string // target id → BuildKit version
	dialed  []builderTarget
}

func (d *fakeDialer) dial(ctx context.Context, t builderTarget) (*client.Client, string, error) {
	d.dialed = append(d.dialed, t)
	version, ok := d.answers[targetID(t)]
	if !ok {
		return nil, "", fmt.Errorf("dialing %s: connection refused", targetID(t))
	}
	// client.New does not connect until the first call.
	c, err := client.New(ctx, "unix:///nonexistent/buildkitd.sock")
	return c, version, err
}

func (d *fakeDialer) calls() []string {
	ids := []string{}
	for _, t := range d.dialed {
		ids = append(ids, targetID(t))
	}
	return ids
}

// targetID names a target in the tables below.
func targetID(t builderTarget) string {
	switch t.Driver {
	case driverDockerContainer:
		return t.container + "@" + t.docker
	case driverDocker:
		return "docker@" + t.docker
	}
	return t.Endpoint
}

// testFinder is a finder over the fixture store, in docker context ctx.
func testFinder(o builderOptions, env map[string]string, ctx string, d *fakeDialer, warn io.Writer) builderFinder {
	host := dockerSock
	if ctx != "default" {
		host = "tcp://10.0.0.5:2376"
	}
	contexts := map[string]bool{"default": true, "arm-host": true, "remote-ctx": true, "other": true}
	return builderFinder{
		opts:   o,
		getenv: func(k string) string { return env[k] },
		store:  buildxStore{dir: filepath.Join("testdata", "buildx")},
		docker: dockerContext{name: ctx, host: host, exists: func(n string) bool { return contexts[n] }},
		dial:   d.dial,
		warn:   warn,
	}
}

// connectCase is one row of TestConnectOrder.
type connectCase struct {
	name      string
	o         builderOptions
	env       map[string]string
	context   string
	answers   map[string]string
	wantCalls []string
	wantInfo  builderInfo
	wantErr   string
	wantWarn  string
}

// connectCases are the rows of TestConnectOrder: the search order, and
// explicit choices that fail without falling through.
func connectCases() []connectCase {
	const (
		container = "buildx_buildkit_container0@" + dockerSock
		tlsAddr   = "tcp://buildkitd.example.com:1234"
		docker    = "docker@default"
	)
	return []connectCase{{
		name:      "--addr",
		o:         builderOptions{addr: "tcp://bk:1234"},
		answers:   map[string]string{"tcp://bk:1234": "v0.34.2"},
		wantCalls: []string{"tcp://bk:1234"},
		wantInfo:  builderInfo{Driver: driverRemote, Endpoint: "tcp://bk:1234", Version: "v0.34.2"},
	}, {
		name:      "--addr fails without falling through",
		o:         builderOptions{addr: "tcp://bk:1234"},
		env:       map[string]string{envBuildkitHost: "unix:///ok.sock", envBuildxBuilder: "local"},
		answers:   map[string]string{"unix:///ok.sock": "", docker: "", container: ""},
		wantCalls: []string{"tcp://bk:1234"},
		wantErr:   "connecting to BuildKit: --addr tcp://bk:1234: dialing tcp://bk:1234: connection refused",
	}, {
		name:      "--builder before $BUILDKIT_HOST",
		o:         builderOptions{builder: "tls"},
		env:       map[string]string{envBuildkitHost: "unix:///ok.sock"},
		answers:   map[string]string{"unix:///ok.sock": "", tlsAddr: "v0.20.0"},
		wantCalls: []string{tlsAddr},
		wantInfo:  builderInfo{Name: "tls", Driver: driverRemote, Endpoint: tlsAddr, Node: "tls0", Version: "v0.20.0"},
	}, {
		name:      "$BUILDKIT_HOST before $BUILDX_BUILDER",
		env:       map[string]string{envBuildkitHost: "unix:///ok.sock", envBuildxBuilder: "tls"},
		answers:   map[string]string{"unix:///ok.sock": "", tlsAddr: ""},
		wantCalls: []string{"unix:///ok.sock"},
		wantInfo:  builderInfo{Driver: driverRemote, Endpoint: "unix:///ok.sock"},
	}, {
		name:      "$BUILDKIT_HOST fails without falling through",
		env:       map[string]string{envBuildkitHost: "unix:///down.sock"},
		answers:   map[string]string{docker: "", container: ""},
		wantCalls: []string{"unix:///down.sock"},
		wantErr:   "connecting to BuildKit: $BUILDKIT_HOST unix:///down.sock: dialing unix:///down.sock: connection refused",
	}, {
		name:      "$BUILDX_BUILDER",
		env:       map[string]string{envBuildxBuilder: "local"},
		answers:   map[string]string{"unix:///run/buildkit/buildkitd.sock": "v0.34.2", container: ""},
		wantCalls: []string{"unix:///run/buildkit/buildkitd.sock"},
		wantInfo:  builderInfo{Name: "local", Driver: driverRemote, Endpoint: "unix:///run/buildkit/buildkitd.sock", Node: "local0", Version: "v0.34.2"},
	}, {
		name:      "$BUILDX_BUILDER fails without falling through",
		env:       map[string]string{envBuildxBuilder: "container"},
		answers:   map[string]string{docker: ""},
		wantCalls: []string{container},
		wantErr:   `connecting to BuildKit: $BUILDX_BUILDER "container" (docker-container driver, container buildx_buildkit_container0 on unix:///var/run/docker.sock): dialing`,
	}, {
		name:    "--builder unknown",
		o:       builderOptions{builder: "nope"},
		answers: map[string]string{docker: "", container: ""},
		wantErr: `connecting to BuildKit: --builder: no builder "nope" found`,
	}, {
		name:      "--builder names a docker context",
		o:         builderOptions{builder: "arm-host"},
		answers:   map[string]string{"docker@arm-host": "v0.12.5"},
		wantCalls: []string{"docker@arm-host"},
		wantInfo:  builderInfo{Name: "arm-host", Driver: driverDocker, Endpoint: "arm-host", Version: "v0.12.5"},
	}, {
		name:      "--builder is case-insensitive like buildx",
		o:         builderOptions{builder: "Container"},
		answers:   map[string]string{container: ""},
		wantCalls: []string{container},
		wantInfo:  builderInfo{Name: "container", Driver: driverDockerContainer, Endpoint: dockerSock, Node: "container0"},
	}, {
		name:    "--builder with an unsupported driver",
		o:       builderOptions{builder: "kube"},
		answers: map[string]string{docker: ""},
		wantErr: `builder "kube" uses the kubernetes driver, which docker-patch cannot reach`,
	}, {
		name:    "--builder with incomplete TLS driver options",
		o:       builderOptions{builder: "badtls"},
		wantErr: `builder "badtls" node badtls0: TLS is on but driver option key is missing`,
	}, {
		name:    "--builder with a corrupt store file",
		o:       builderOptions{builder: "broken"},
		wantErr: "parsing buildx builder testdata/buildx/instances/broken",
	}, {
		name:      "the first node of a builder that answers",
		o:         builderOptions{builder: "multi"},
		answers:   map[string]string{"buildx_buildkit_multi1@arm-host": ""},
		wantCalls: []string{"buildx_buildkit_multi0@" + dockerSock, "buildx_buildkit_multi1@arm-host"},
		wantInfo:  builderInfo{Name: "multi", Driver: driverDockerContainer, Endpoint: "arm-host", Node: "multi1"},
	}, {
		name:      "current builder before the Docker daemon",
		answers:   map[string]string{container: "v0.34.2", docker: ""},
		wantCalls: []string{container},
		wantInfo:  builderInfo{Name: "container", Driver: driverDockerContainer, Endpoint: dockerSock, Node: "container0", Version: "v0.34.2"},
	}, {
		name:      "current builder falls through to the Docker daemon",
		answers:   map[string]string{docker: "v0.8.2"},
		wantCalls: []string{container, docker},
		wantInfo:  builderInfo{Name: "default", Driver: driverDocker, Endpoint: dockerSock, Version: "v0.8.2"},
		wantWarn: "WARNING: current buildx builder \"container\" (docker-container driver, container buildx_buildkit_container0 on unix:///var/run/docker.sock): " +
			"dialing buildx_buildkit_container0@unix:///var/run/docker.sock: connection refused\n" +
			"WARNING: using \"default\" (docker driver, unix:///var/run/docker.sock, BuildKit v0.8.2) instead\n",
	}, {
		name:      "no current builder in this docker context",
		context:   "other",
		answers:   map[string]string{"docker@other": ""},
		wantCalls: []string{"docker@other"},
		wantInfo:  builderInfo{Name: "other", Driver: driverDocker, Endpoint: "tcp://10.0.0.5:2376"},
	}, {
		name:      "the docker context's default builder",
		context:   "remote-ctx",
		answers:   map[string]string{tlsAddr: ""},
		wantCalls: []string{tlsAddr},
		wantInfo:  builderInfo{Name: "tls", Driver: driverRemote, Endpoint: tlsAddr, Node: "tls0"},
	}, {
		name:      "nothing answers",
		wantCalls: []string{container, docker},
		wantErr:   "no BuildKit daemon answered",
	}}
}

func TestConnectOrder(t *testing.T) {
	for _, tc := range connectCases() {
		t.Run(tc.name, func(t *testing.T) { checkConnect(t, tc) })
	}
}

// checkConnect runs one connectCase.
func checkConnect(t *testing.T, tc connectCase) {
	t.Helper()
	if tc.context == "" {
		tc.context = "default"
	}
	d := &fakeDialer{answers: tc.answers}
	var warn bytes.Buffer
	c, info, err := testFinder(tc.o, tc.env, tc.context, d, &warn).find(t.Context())
	if c != nil {
		defer c.Close()
	}
	if got := d.calls(); !reflect.DeepEqual(got, append([]string{}, tc.wantCalls...)) {
		t.Errorf("dialed %q, want %q", got, tc.wantCalls)
	}
	if tc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if info != tc.wantInfo {
		t.Errorf("info = %+v, want %+v", info, tc.wantInfo)
	}
	if warn.String() != tc.wantWarn {
		t.Errorf("warnings:\n%s\nwant:\n%s", warn.String(), tc.wantWarn)
	}
}

func TestConnectRemoteTLSFromStore(t *testing.T) {
	d := &fakeDialer{answers: map[string]string{"tcp://buildkitd.example.com:1234": ""}}
	_, _, err := testFinder(builderOptions{builder: "tls"}, nil, "default", d, io.Discard).find(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := tlsFiles{caCert: "/etc/buildkit/certs/ca.pem", cert: "/etc/buildkit/certs/cert.pem", key: "/etc/buildkit/certs/key.pem", serverName: "buildkitd"}
	if got := d.dialed[0].tls; got != want {
		t.Errorf("tls = %+v, want %+v", got, want)
	}
}

func TestNoBuilderErrorText(t *testing.T) {
	d := &fakeDialer{}
	_, _, err := testFinder(builderOptions{}, nil, "other", d, io.Discard).find(t.Context())
	want := `no BuildKit daemon answered; tried, in order:
  - current buildx builder: none chosen for docker context "other"
  - Docker daemon of context "other" (docker driver, tcp://10.0.0.5:2376): dialing docker@other: connection refused
pass --addr (e.g. tcp://buildkitd:1234 or unix:///run/buildkit/buildkitd.sock), set BUILDKIT_HOST, ` +
		`choose a builder with --builder or BUILDX_BUILDER, or create one with "docker buildx create --use"`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	var nb *noBuilderError
	if !errors.As(err, &nb) || len(nb.attempts) != 2 || !errors.Is(err, errNotConfigured) {
		t.Errorf("error %#v does not unwrap to its two attempts", err)
	}
	if exitCode(err) != exitError {
		t.Errorf("exit code %d, want %d", exitCode(err), exitError)
	}
}

func TestNoBuilderErrorMultiNode(t *testing.T) {
	err := &noBuilderError{attempts: []error{errors.Join(errors.New("node a: down"), errors.New("node b: down"))}}
	if !strings.Contains(err.Error(), "\n  - node a: down\n  - node b: down\n") {
		t.Errorf("nodes are not listed one per line:\n%s", err)
	}
}

func TestTLSFlags(t *testing.T) {
	cases := []struct {
		name    string
		o       builderOptions
		env     map[string]string
		wantErr string
		wantTLS tlsFiles
	}{
		{name: "cert without key", o: builderOptions{addr: "tcp://bk:1234", tlsCert: "/c.pem"}, wantErr: "--tlscert needs --tlskey"},
		{name: "key without cert", o: builderOptions{addr: "tcp://bk:1234", tlsKey: "/k.pem"}, wantErr: "--tlskey needs --tlscert"},
		{name: "--addr and --builder", o: builderOptions{addr: "tcp://bk:1234", builder: "tls"}, wantErr: "pass one of them"},
		{name: "TLS with --builder", o: builderOptions{builder: "tls", tlsCACert: "/ca.pem"}, wantErr: "keeps its TLS settings in its driver options"},
		{name: "TLS without an address", o: builderOptions{tlsCACert: "/ca.pem"}, wantErr: "need a tcp:// address in --addr or $BUILDKIT_HOST"},
		{name: "TLS with $BUILDX_BUILDER", o: builderOptions{tlsCACert: "/ca.pem"}, env: map[string]string{envBuildxBuilder: "tls"}, wantErr: "need a tcp:// address"},
		{name: "TLS with a unix socket", o: builderOptions{addr: "unix:///bk.sock", tlsCACert: "/ca.pem"}, wantErr: "apply to tcp:// addresses, not to --addr unix:///bk.sock"},
		{
			name:    "TLS with $BUILDKIT_HOST",
			o:       builderOptions{tlsCACert: "/ca.pem", tlsCert: "/c.pem", tlsKey: "/k.pem"},
			env:     map[string]string{envBuildkitHost: "tcp://bk:1234"},
			wantTLS: tlsFiles{caCert: "/ca.pem", cert: "/c.pem", key: "/k.pem"},
		},
		{
			name:    "server name alone",
			o:       builderOptions{addr: "tcp://bk:1234", tlsServerName: "buildkitd"},
			wantTLS: tlsFiles{serverName: "buildkitd"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDialer{answers: map[string]string{"tcp://bk:1234": ""}}
			err := tc.o.validate()
			if err == nil {
				var c *client.Client
				c, _, err = testFinder(tc.o, tc.env, "default", d, io.Discard).find(t.Context())
				if c != nil {
					c.Close()
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitCode(err) != exitUsage {
					t.Fatalf("error = %v (exit %d), want a usage error containing %q", err, exitCode(err), tc.wantErr)
				}
				if len(d.dialed) > 0 {
					t.Errorf("dialed %q despite bad flags", d.calls())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.dialed[0].tls != tc.wantTLS {
				t.Errorf("tls = %+v, want %+v", d.dialed[0].tls, tc.wantTLS)
			}
		})
	}
}

func TestTLSClientOpts(t *testing.T) {
	if opts := (tlsFiles{}).clientOpts("tcp://bk:1234"); opts != nil {
		t.Errorf("no TLS flags give options %v", opts)
	}
	if n := len(tlsFiles{caCert: "/ca.pem"}.clientOpts("tcp://bk:1234")); n != 1 {
		t.Errorf("a CA alone gives %d options, want 1", n)
	}
	if n := len(tlsFiles{caCert: "/ca.pem", cert: "/c.pem", key: "/k.pem"}.clientOpts("tcp://bk:1234")); n != 2 {
		t.Errorf("CA and client certificate give %d options, want 2", n)
	}
	// client.New reads the files: a missing CA must fail before any dialing.
	_, err := client.New(t.Context(), "tcp://bk:1234", tlsFiles{caCert: "/nonexistent/ca.pem"}.clientOpts("tcp://bk:1234")...)
	if err == nil || !strings.Contains(err.Error(), "could not read ca certificate") {
		t.Errorf("missing CA: %v", err)
	}
}

func TestAddBuilderFlags(t *testing.T) {
	var o builderOptions
	f := pflag.NewFlagSet("image", pflag.ContinueOnError)
	addBuilderFlags(f, &o)
	err := f.Parse([]string{"--addr", "tcp://bk:1234", "--tlscacert", "/ca.pem", "--tlscert", "/c.pem", "--tlskey", "/k.pem", "--tlsservername", "bk"})
	if err != nil {
		t.Fatal(err)
	}
	want := builderOptions{addr: "tcp://bk:1234", tlsCACert: "/ca.pem", tlsCert: "/c.pem", tlsKey: "/k.pem", tlsServerName: "bk"}
	if o != want {
		t.Errorf("parsed %+v, want %+v", o, want)
	}
	usage := f.FlagUsages()
	for _, s := range []string{"(default $BUILDKIT_HOST)", "(default $BUILDX_BUILDER", "--builder", "--tlsservername"} {
		if !strings.Contains(usage, s) {
			t.Errorf("help lacks %q:\n%s", s, usage)
		}
	}
}

func TestBuilderInfoString(t *testing.T) {
	cases := map[string]builderInfo{
		"tcp://bk:1234": {Driver: driverRemote, Endpoint: "tcp://bk:1234"},
		"unix:///run/buildkit/buildkitd.sock (BuildKit v0.34.2)": {Driver: driverRemote, Endpoint: "unix:///run/buildkit/buildkitd.sock", Version: "v0.34.2"},
		`"tls" (remote driver, tcp://bk:1234)`:                   {Name: "tls", Driver: driverRemote, Endpoint: "tcp://bk:1234", Node: "tls0"},
		`"container" (docker-container driver, container buildx_buildkit_container0 on unix:///var/run/docker.sock, BuildKit v0.34.2)`: {
			Name: "container", Driver: driverDockerContainer, Endpoint: dockerSock, Node: "container0", Version: "v0.34.2",
		},
		`"default" (docker driver, unix:///var/run/docker.sock)`: {Name: "default", Driver: driverDocker, Endpoint: dockerSock},
		`"arm-host" (docker driver)`:                             {Name: "arm-host", Driver: driverDocker, Endpoint: "arm-host"},
	}
	for want, info := range cases {
		if got := info.String(); got != want {
			t.Errorf("String() = %s, want %s", got, want)
		}
	}
}

// copyStore copies the fixture store to a temporary directory.
func copyStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "buildx")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "buildx"))); err != nil {
		t.Fatal(err)
	}
	return dir
}
