package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	commonexptypes "github.com/moby/buildkit/exporter/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/patch"
)

// output is one platform of the result: its root and config as exported.
type output struct {
	ref    gwclient.Reference
	config []byte
	// base is the original config, so the exporter keeps the base
	// history's timestamps under SOURCE_DATE_EPOCH; nil when kept.
	base  []byte
	epoch string
}

// build patches every target and returns the result. A single-platform
// image goes through dockerui like any frontend's build; an index is
// assembled here, because its kept platforms must be exported with their
// configs as the registry serves them, byte for byte.
func (p *patcher) build(ctx context.Context) (*gwclient.Result, error) {
	if !p.index {
		return p.buildSingle(ctx)
	}
	res := gwclient.NewResult()
	exp := exptypes.Platforms{Platforms: make([]exptypes.Platform, len(p.targets))}
	ids := map[string]ocispecs.Platform{}
	eg, ctx := errgroup.WithContext(ctx)
	for i, t := range p.targets {
		eg.Go(func() error {
			out, err := p.buildTarget(ctx, t, i)
			if err != nil {
				return err
			}
			id := patch.FormatPlatform(t.Platform)
			res.AddRef(id, out.ref)
			res.AddMeta(exptypes.ExporterImageConfigKey+"/"+id, out.config)
			if out.base != nil {
				res.AddMeta(exptypes.ExporterImageBaseConfigKey+"/"+id, out.base)
			}
			if out.epoch != "" {
				res.AddMeta(commonexptypes.ExporterEpochKey+"/"+id, []byte(out.epoch))
			}
			// The index's own platform, variant included, as it was.
			exp.Platforms[i] = exptypes.Platform{ID: id, Platform: t.Platform}
			p.mu.Lock()
			ids[id] = t.Platform
			p.mu.Unlock()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	dt, err := json.Marshal(exp)
	if err != nil {
		return nil, fmt.Errorf("marshalling platforms: %w", err)
	}
	res.AddMeta(exptypes.ExporterPlatformsKey, dt)
	p.attach(res, ids)
	p.annotate(res, ids)
	return res, nil
}

// buildSingle patches the platforms of a single-platform image through
// dockerui, which names and exports them like any frontend's.
func (p *patcher) buildSingle(ctx context.Context) (*gwclient.Result, error) {
	rb, err := p.bc.Build(ctx, p.patch)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	ids := map[string]ocispecs.Platform{}
	_ = rb.EachPlatform(ctx, func(_ context.Context, id string, pl ocispecs.Platform) error {
		mu.Lock()
		defer mu.Unlock()
		ids[id] = pl
		return nil
	})
	p.attach(rb.Result, ids)
	p.annotate(rb.Result, ids)
	return rb.Finalize()
}

// buildTarget patches one platform of an index, or keeps it.
func (p *patcher) buildTarget(ctx context.Context, t patch.Target, i int) (output, error) {
	if !t.Patch {
		return p.keep(ctx, t.Platform)
	}
	pl := t.Platform
	br, err := p.patch(ctx, &pl, i)
	if err != nil {
		return output{}, err
	}
	out := output{ref: br.Reference}
	if out.config, err = json.Marshal(br.Image); err != nil {
		return output{}, fmt.Errorf("marshalling image config: %w", err)
	}
	if out.base, err = json.Marshal(br.BaseImage); err != nil {
		return output{}, fmt.Errorf("marshalling image config: %w", err)
	}
	if br.Epoch != nil {
		out.epoch = strconv.FormatInt(br.Epoch.Unix(), 10)
	}
	return out, nil
}

// keep returns a platform that is not patched: the image's own layers,
// unpulled, and its config as the registry serves it, so the exporter
// writes the same manifest again.
func (p *patcher) keep(ctx context.Context, pl ocispecs.Platform) (output, error) {
	img, err := resolveImage(ctx, p.c, p.bc, p.opts.Image, pl)
	if err != nil {
		return output{}, err
	}
	def, err := img.State.Marshal(ctx)
	if err != nil {
		return output{}, fmt.Errorf("marshalling LLB: %w", err)
	}
	// Not evaluated: the exporter copies the blobs it needs, and nothing
	// of a kept platform runs, so no emulator is needed for it.
	res, err := p.c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return output{}, fmt.Errorf("loading image %s: %w", img.Ref, err)
	}
	ref, err := res.SingleRef()
	if err != nil {
		return output{}, fmt.Errorf("loading image %s: %w", img.Ref, err)
	}
	p.record(patch.Summary{Platform: patch.FormatPlatform(pl), Image: img.Ref.String(), Digest: img.Digest.String(), Kept: true})
	return output{ref: ref, config: img.RawConfig}, nil
}
