package frontend

import (
	"maps"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/patch"
)

// keepAnnotations records manifest annotations of a patched platform.
func (p *patcher) keepAnnotations(pl ocispecs.Platform, a map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.annotations == nil {
		p.annotations = map[string]map[string]string{}
	}
	p.annotations[patch.PlatformKey(pl)] = maps.Clone(a)
}

// annotate adds each patched platform's manifest annotations to the
// result: keyed by platform in an index, without one for a single image
// (the exporter's rule).
func (p *patcher) annotate(res *gwclient.Result, ids map[string]ocispecs.Platform) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range ids {
		a, ok := p.annotations[patch.PlatformKey(pl)]
		if !ok && len(ids) == 1 && len(p.annotations) == 1 {
			// One platform, whatever the exporter calls it.
			for _, x := range p.annotations {
				a, ok = x, true
			}
		}
		if !ok {
			continue
		}
		for k, v := range a {
			key := exptypes.AnnotationManifestKey(nil, k)
			if p.index {
				key = exptypes.AnnotationManifestKey(&pl, k)
			}
			res.AddMeta(key, []byte(v))
		}
	}
}
