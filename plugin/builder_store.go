package plugin

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/docker/cli/cli/command"
)

// buildxStore reads docker buildx's builder store, never writing to it (buildx
// updates "current" when it reads; docker-patch leaves that to buildx). The
// layout, as of buildx v0.38 (store/store.go):
//
//	instances/<name>    one builder (node group) as JSON
//	current             {"Key": docker endpoint, "Name": builder, "Global": bool}
//	defaults/<hash>     builder name set with "docker buildx use --default",
//	                    hash = first 20 hex digits of sha256(docker endpoint)
type buildxStore struct{ dir string }

// buildxDir is where buildx keeps its store: $BUILDX_CONFIG, else "buildx"
// next to the docker CLI's config.json.
func buildxDir(dockerCLI command.Cli, getenv func(string) string) string {
	if dir := getenv(envBuildxConfig); dir != "" {
		return dir
	}
	return filepath.Join(filepath.Dir(dockerCLI.ConfigFile().Filename), "buildx")
}

// nodeGroup is a builder as buildx saves it (store.NodeGroup). Fields
// docker-patch does not use (platforms, buildkitd flags, files) are left
// out.
type nodeGroup struct {
	Name    string
	Driver  string
	Nodes   []buildxNode
	Dynamic bool
}

// buildxNode is one node of a builder (store.Node): for the remote driver
// a BuildKit address, for docker and docker-container a docker context
// name or docker host.
type buildxNode struct {
	Name       string
	Endpoint   string
	DriverOpts map[string]string
}

// currentBuilder is buildx's "current" file.
type currentBuilder struct {
	Key    string
	Name   string
	Global bool
}

// builderNamePattern is buildx's rule for builder names (store.ValidateName).
var builderNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\.\-_]*$`)

// errInvalidBuilderName marks a name buildx could not have stored.
var errInvalidBuilderName = errors.New("invalid builder name: it starts with a letter and has no symbols but ._-")

// nodeGroup reads one builder. A missing builder is an fs.ErrNotExist.
func (s buildxStore) nodeGroup(name string) (nodeGroup, error) {
	if !builderNamePattern.MatchString(name) {
		return nodeGroup{}, fmt.Errorf("reading buildx builder %q: %w", name, errInvalidBuilderName)
	}
	// buildx stores builders under their lower-cased name.
	path := filepath.Join(s.dir, "instances", strings.ToLower(name))
	dt, err := os.ReadFile(path)
	if err != nil {
		return nodeGroup{}, fmt.Errorf("reading buildx builder %q: %w", name, err)
	}
	var ng nodeGroup
	if err := json.Unmarshal(dt, &ng); err != nil {
		return nodeGroup{}, fmt.Errorf("parsing buildx builder %s: %w", path, err)
	}
	return ng, nil
}

// exists reports whether a builder of that name is stored.
func (s buildxStore) exists(name string) bool {
	_, err := s.nodeGroup(name)
	return err == nil
}

// current returns the name of the current builder for a docker endpoint
// key, or "" if buildx would use the docker context's own builder. It
// follows buildx's Txn.Current: a global current builder wins, then the
// current builder if it was chosen for this key, then the key's default.
func (s buildxStore) current(key string) (string, error) {
	dt, err := os.ReadFile(filepath.Join(s.dir, "current"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading current buildx builder: %w", err)
	}
	if err == nil {
		var c currentBuilder
		if err := json.Unmarshal(dt, &c); err != nil {
			return "", fmt.Errorf("parsing %s: %w", filepath.Join(s.dir, "current"), err)
		}
		if c.Name != "" && c.Global && s.exists(c.Name) {
			return c.Name, nil
		}
		if c.Name != "" && c.Key == key {
			if s.exists(c.Name) {
				return c.Name, nil
			}
			return "", nil
		}
	}
	return s.defaultFor(key)
}

// defaultFor returns the builder set with "docker buildx use --default"
// for a docker endpoint key, or "" if there is none.
func (s buildxStore) defaultFor(key string) (string, error) {
	dt, err := os.ReadFile(filepath.Join(s.dir, "defaults", storeKeyHash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading default buildx builder: %w", err)
	}
	name := strings.TrimSpace(string(dt))
	if !s.exists(name) {
		return "", nil
	}
	return name, nil
}

// storeKeyHash names a docker endpoint's file in defaults/ (buildx's toHash:
// the first 20 hex digits of the sha256 digest).
func storeKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("%x", sum)[:20]
}

// dockerContext is what builder discovery needs to know of the docker CLI.
type dockerContext struct {
	name   string                 // current docker context, e.g. "default"
	host   string                 // its docker endpoint, e.g. unix:///var/run/docker.sock
	exists func(name string) bool // whether a docker context has that name
}

// currentDockerContext describes the docker CLI's current context.
func currentDockerContext(dockerCLI command.Cli) dockerContext {
	return dockerContext{
		name: dockerCLI.CurrentContext(),
		host: dockerCLI.DockerEndpoint().Host,
		exists: func(name string) bool {
			_, err := dockerCLI.ContextStore().GetMetadata(name)
			return err == nil
		},
	}
}

// storeKey is the key buildx files the current builder under: the context
// name, except for the default context, whose key is its docker host
// (buildx's dockerutil.GetCurrentEndpoint), so that DOCKER_HOST matters.
func (d dockerContext) storeKey() string {
	if d.name != "default" {
		return d.name
	}
	return d.host
}

// namedTargets finds a builder by name as buildx does: a builder in the
// store, else a docker context of that name, meaning its daemon's BuildKit.
func (f builderFinder) namedTargets(name string) ([]builderTarget, error) {
	ng, err := f.store.nodeGroup(name)
	if err == nil {
		return ng.targets()
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errInvalidBuilderName) {
		return nil, err
	}
	if f.docker.exists(name) {
		info := builderInfo{Name: name, Driver: driverDocker, Endpoint: name}
		return []builderTarget{{builderInfo: info, docker: name}}, nil
	}
	return nil, fmt.Errorf("no builder %q found: \"docker buildx ls\" lists builders and docker contexts", name)
}

// currentTargets finds buildx's current builder for the docker context.
func (f builderFinder) currentTargets() ([]builderTarget, error) {
	name, err := f.store.current(f.docker.storeKey())
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%w for docker context %q", errNotConfigured, f.docker.name)
	}
	ng, err := f.store.nodeGroup(name)
	if err != nil {
		return nil, err
	}
	return ng.targets()
}

// targets lists the nodes of a builder in the order buildx lists them.
func (ng nodeGroup) targets() ([]builderTarget, error) {
	switch ng.Driver {
	case driverRemote, driverDockerContainer, driverDocker:
	default:
		return nil, fmt.Errorf("builder %q uses the %s driver, which docker-patch cannot reach: "+
			"use a remote or docker-container builder, or pass --addr", ng.Name, ng.Driver)
	}
	if ng.Dynamic || len(ng.Nodes) == 0 {
		return nil, fmt.Errorf("builder %q has no nodes", ng.Name)
	}
	targets := make([]builderTarget, 0, len(ng.Nodes))
	for _, n := range ng.Nodes {
		t, err := ng.target(n)
		if err != nil {
			return nil, fmt.Errorf("builder %q node %s: %w", ng.Name, n.Name, err)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// target is how to reach one node.
func (ng nodeGroup) target(n buildxNode) (builderTarget, error) {
	t := builderTarget{builderInfo: builderInfo{Name: ng.Name, Driver: ng.Driver, Endpoint: n.Endpoint, Node: n.Name}}
	switch ng.Driver {
	case driverRemote:
		tls, err := remoteTLS(n.DriverOpts)
		if err != nil {
			return builderTarget{}, err
		}
		t.tls = tls
	case driverDockerContainer:
		t.docker, t.container = n.Endpoint, containerName(n.Name)
	case driverDocker:
		t.docker = n.Endpoint
	}
	return t, nil
}

// remoteTLS reads the TLS driver options of a remote node with the rules
// of buildx's remote driver: absolute paths, a CA whenever TLS is on, and
// a certificate and key only together.
func remoteTLS(opts map[string]string) (tlsFiles, error) {
	t := tlsFiles{caCert: opts["cacert"], cert: opts["cert"], key: opts["key"], serverName: opts["servername"]}
	for _, k := range []string{"cacert", "cert", "key"} {
		if v := opts[k]; v != "" && !filepath.IsAbs(v) {
			return tlsFiles{}, fmt.Errorf("driver option %s=%s: not an absolute path", k, v)
		}
	}
	var missing []string
	if t.enabled() && t.caCert == "" {
		missing = append(missing, "cacert")
	}
	if t.cert != "" && t.key == "" {
		missing = append(missing, "key")
	}
	if t.key != "" && t.cert == "" {
		missing = append(missing, "cert")
	}
	if len(missing) > 0 {
		return tlsFiles{}, fmt.Errorf("TLS is on but driver option %s is missing", strings.Join(missing, ", "))
	}
	return t, nil
}
