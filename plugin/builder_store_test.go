package plugin

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestStoreKeyHash(t *testing.T) {
	// The names buildx gives these endpoints' entries in its store
	// (sha256 of the key, first 20 hex digits), as written on disk.
	for key, want := range map[string]string{
		dockerSock:            "13c4025c96f36e94b348",
		"remote-ctx":          "75b7f9fd9cf76ebe368f",
		"tcp://10.0.0.5:2376": "03624fabd957f8778712",
	} {
		if got := storeKeyHash(key); got != want {
			t.Errorf("storeKeyHash(%q) = %s, want %s", key, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "buildx", "defaults", storeKeyHash("remote-ctx"))); err != nil {
		t.Errorf("fixture default for remote-ctx: %v", err)
	}
}

func TestDockerContextStoreKey(t *testing.T) {
	cases := []struct{ name, host, want string }{
		{"default", dockerSock, dockerSock},
		{"default", "tcp://10.0.0.5:2376", "tcp://10.0.0.5:2376"}, // DOCKER_HOST
		{"remote-ctx", "tcp://10.0.0.5:2376", "remote-ctx"},
	}
	for _, tc := range cases {
		if got := (dockerContext{name: tc.name, host: tc.host}).storeKey(); got != tc.want {
			t.Errorf("storeKey(%s, %s) = %s, want %s", tc.name, tc.host, got, tc.want)
		}
	}
}

func TestStoreCurrent(t *testing.T) {
	cases := []struct {
		name     string
		current  string // contents of "current"; "-" removes it
		defaults map[string]string
		key      string
		want     string
		wantErr  string
	}{
		{name: "chosen for this endpoint", current: `{"Key":"` + dockerSock + `","Name":"container","Global":false}`, key: dockerSock, want: "container"},
		{name: "chosen for another endpoint: this one's default", current: `{"Key":"` + dockerSock + `","Name":"container","Global":false}`, key: "remote-ctx", want: "tls"},
		{name: "chosen for another endpoint, no default", current: `{"Key":"` + dockerSock + `","Name":"container","Global":false}`, key: "other", want: ""},
		{name: "global", current: `{"Key":"other","Name":"multi","Global":true}`, key: dockerSock, want: "multi"},
		{name: "global but removed", current: `{"Key":"` + dockerSock + `","Name":"gone","Global":true}`, key: dockerSock, want: ""},
		{name: "chosen but removed: no default either", current: `{"Key":"remote-ctx","Name":"gone","Global":false}`, key: "remote-ctx", want: ""},
		{name: "reset by docker buildx use default", current: `{"Key":"remote-ctx","Name":"","Global":false}`, key: "remote-ctx", want: "tls"},
		{name: "no current file", current: "-", key: "remote-ctx", want: "tls"},
		{name: "default names a removed builder", current: "-", defaults: map[string]string{dockerSock: "gone"}, key: dockerSock, want: ""},
		{name: "default with a trailing newline", current: "-", defaults: map[string]string{dockerSock: "local\n"}, key: dockerSock, want: "local"},
		{name: "corrupt current", current: `{"Key":`, key: dockerSock, wantErr: "parsing "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyStore(t)
			var err error
			if tc.current == "-" {
				err = os.Remove(filepath.Join(dir, "current"))
			} else {
				err = os.WriteFile(filepath.Join(dir, "current"), []byte(tc.current), 0o600)
			}
			for key, name := range tc.defaults {
				err = errors.Join(err, os.WriteFile(filepath.Join(dir, "defaults", storeKeyHash(key)), []byte(name), 0o600))
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := buildxStore{dir: dir}.current(tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("current(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
			}
		})
	}
}

func TestStoreNodeGroup(t *testing.T) {
	s := buildxStore{dir: filepath.Join("testdata", "buildx")}
	ng, err := s.nodeGroup("multi")
	if err != nil {
		t.Fatal(err)
	}
	want := nodeGroup{Name: "multi", Driver: driverDockerContainer, Nodes: []buildxNode{
		{Name: "multi0", Endpoint: dockerSock},
		{Name: "multi1", Endpoint: "arm-host"},
	}}
	if !reflect.DeepEqual(ng, want) {
		t.Errorf("nodeGroup(multi) = %+v, want %+v", ng, want)
	}
	if _, err := s.nodeGroup("gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing builder: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.nodeGroup("../current"); !errors.Is(err, errInvalidBuilderName) {
		t.Errorf("path as a name: %v, want errInvalidBuilderName", err)
	}
}

func TestNodeGroupTargets(t *testing.T) {
	cases := map[string]struct {
		want    []builderTarget
		wantErr string
	}{
		"container": {want: []builderTarget{{
			builderInfo: builderInfo{Name: "container", Driver: driverDockerContainer, Endpoint: dockerSock, Node: "container0"},
			docker:      dockerSock, container: "buildx_buildkit_container0",
		}}},
		"tls": {want: []builderTarget{{
			builderInfo: builderInfo{Name: "tls", Driver: driverRemote, Endpoint: "tcp://buildkitd.example.com:1234", Node: "tls0"},
			tls:         tlsFiles{caCert: "/etc/buildkit/certs/ca.pem", cert: "/etc/buildkit/certs/cert.pem", key: "/etc/buildkit/certs/key.pem", serverName: "buildkitd"},
		}}},
		"local": {want: []builderTarget{{
			builderInfo: builderInfo{Name: "local", Driver: driverRemote, Endpoint: "unix:///run/buildkit/buildkitd.sock", Node: "local0"},
		}}},
		"kube":   {wantErr: "kubernetes driver"},
		"badtls": {wantErr: "driver option key is missing"},
	}
	s := buildxStore{dir: filepath.Join("testdata", "buildx")}
	for name, tc := range cases {
		ng, err := s.nodeGroup(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ng.targets()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error = %v, want %q", name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: targets = %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
}

func TestRemoteTLS(t *testing.T) {
	cases := []struct {
		opts    map[string]string
		want    tlsFiles
		wantErr string
	}{
		{opts: nil},
		{opts: map[string]string{"default-load": "true"}},
		{opts: map[string]string{"cacert": "/ca.pem"}, want: tlsFiles{caCert: "/ca.pem"}},
		{opts: map[string]string{"servername": "bk"}, wantErr: "driver option cacert is missing"},
		{opts: map[string]string{"cacert": "/ca.pem", "key": "/k.pem"}, wantErr: "driver option cert is missing"},
		{opts: map[string]string{"cacert": "certs/ca.pem"}, wantErr: "cacert=certs/ca.pem: not an absolute path"},
	}
	for _, tc := range cases {
		got, err := remoteTLS(tc.opts)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("remoteTLS(%v) error = %v, want %q", tc.opts, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("remoteTLS(%v) = %+v, %v; want %+v", tc.opts, got, err, tc.want)
		}
	}
}
