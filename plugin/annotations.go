package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxManifestSize bounds a manifest or index read from a registry.
const maxManifestSize = 4 << 20

// sourceAnnotations are the annotations of the image to patch: its index's,
// and each platform's manifest's. The gateway API shows a frontend configs
// only, so the plugin reads them from the registry, with the docker CLI's
// credentials, and the exporter writes them to the patched image.
type sourceAnnotations struct {
	index     map[string]string
	manifests map[string]map[string]string // by platform, normalized
	isIndex   bool
}

// readSourceAnnotations reads the image's annotations from its registry.
func readSourceAnnotations(ctx context.Context, cfg *configfile.ConfigFile, ref string) (sourceAnnotations, error) {
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(credentials(cfg)))),
		docker.WithPlainHTTP(docker.MatchLocalhost),
	)})
	name, desc, err := resolver.Resolve(ctx, ref)
	if err != nil {
		return sourceAnnotations{}, err
	}
	fetcher, err := resolver.Fetcher(ctx, name)
	if err != nil {
		return sourceAnnotations{}, err
	}
	var m struct {
		Annotations map[string]string     `json:"annotations"`
		Manifests   []ocispecs.Descriptor `json:"manifests"`
	}
	if err := fetchJSON(ctx, fetcher, desc, &m); err != nil {
		return sourceAnnotations{}, err
	}
	out := sourceAnnotations{manifests: map[string]map[string]string{}}
	if len(m.Manifests) == 0 {
		out.manifests[""] = m.Annotations
		return out, nil
	}
	out.index, out.isIndex = m.Annotations, true
	for _, d := range m.Manifests {
		if d.Platform == nil {
			continue // an attestation manifest
		}
		var pm struct {
			Annotations map[string]string `json:"annotations"`
		}
		if err := fetchJSON(ctx, fetcher, d, &pm); err != nil {
			return sourceAnnotations{}, err
		}
		out.manifests[platforms.FormatAll(platforms.Normalize(*d.Platform))] = pm.Annotations
	}
	return out, nil
}

// credentials returns the docker CLI's credentials for a registry host.
func credentials(cfg *configfile.ConfigFile) func(string) (string, string, error) {
	return func(host string) (string, string, error) {
		if host == "registry-1.docker.io" {
			host = "https://index.docker.io/v1/"
		}
		ac, err := cfg.GetAuthConfig(host)
		if err != nil {
			return "", "", err
		}
		if ac.IdentityToken != "" {
			return "", ac.IdentityToken, nil
		}
		return ac.Username, ac.Password, nil
	}
}

// fetchJSON reads a manifest or index.
func fetchJSON(ctx context.Context, f remotes.Fetcher, desc ocispecs.Descriptor, v any) error {
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	dt, err := io.ReadAll(io.LimitReader(rc, maxManifestSize))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(dt, v); err != nil {
		return fmt.Errorf("parsing %s: %w", desc.Digest, err)
	}
	return nil
}

// exporterAttrs renders the annotations as exporter attributes: the
// index's, and each manifest's, keyed by platform in an index. Patched
// manifests (and the index) say when they were made; a platform that is
// kept keeps its annotations as they were, and so its manifest digest.
func (a sourceAnnotations) exporterAttrs(patched func(string) bool, created time.Time, asIndex bool) map[string]string {
	attrs := map[string]string{}
	stamp := created.UTC().Format(time.RFC3339)
	refresh := func(m map[string]string) map[string]string {
		out := maps.Clone(m)
		if _, ok := out[ocispecs.AnnotationCreated]; ok {
			out[ocispecs.AnnotationCreated] = stamp
		}
		return out
	}
	if asIndex {
		for k, v := range refresh(a.index) {
			attrs[exptypes.AnnotationIndexKey(k)] = v
		}
	}
	for pl, m := range a.manifests {
		if patched(pl) {
			m = refresh(m)
		} else if !asIndex {
			continue // a single image is the one patched platform
		}
		var p *ocispecs.Platform
		if asIndex {
			parsed := platforms.MustParse(pl)
			p = &parsed
		}
		for k, v := range m {
			attrs[exptypes.AnnotationManifestKey(p, k)] = v
		}
	}
	return attrs
}

// withAnnotations adds the attributes to every export that keeps
// annotations (image and OCI exports with OCI media types).
func withAnnotations(exports []client.ExportEntry, attrs map[string]string) {
	if len(attrs) == 0 || !attestable(exports) {
		return
	}
	for _, e := range exports {
		maps.Copy(e.Attrs, attrs)
	}
}

// carryAnnotations gives the exports that keep annotations those of the
// image to patch. An image whose annotations cannot be read (a registry
// the client cannot reach, though the builder can) is patched without
// them, with a warning.
func (o imageOptions) carryAnnotations(ctx context.Context, dockerCLI command.Cli, exports []client.ExportEntry) {
	if !attestable(exports) {
		return
	}
	src, err := readSourceAnnotations(ctx, dockerCLI.ConfigFile(), o.image)
	if err != nil {
		fmt.Fprintf(dockerCLI.Err(), "warning: reading the annotations of %s: %v; the patched image does not carry them\n", o.image, err)
		return
	}
	created := time.Now()
	if n, err := strconv.ParseInt(o.sourceDateEpoch, 10, 64); err == nil {
		created = time.Unix(n, 0)
	}
	withAnnotations(exports, src.exporterAttrs(o.patchedPlatform, created, src.isIndex))
}

// patchedPlatform says whether a platform of the image ("" for a single
// image) is one the patch changes: all of them unless --platform names
// some.
func (o imageOptions) patchedPlatform(pl string) bool {
	if o.platform == "" || pl == "" {
		return true
	}
	p, err := platforms.Parse(pl)
	if err != nil {
		return false
	}
	for _, s := range strings.Split(o.platform, ",") {
		if want, err := platforms.Parse(strings.TrimSpace(s)); err == nil && platforms.OnlyStrict(want).Match(p) {
			return true
		}
	}
	return false
}
