package frontend

import (
	"context"
	"fmt"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/distros/deb"
)

// useTooling resolves and pins the tooling image that patches an image
// without a package manager: the tooling-image option, or the default for
// the image's own release (from its os-release, never from the report).
func (p *patcher) useTooling(ctx context.Context, pp *planned) error {
	ref := p.opts.ToolingImage
	if ref == nil {
		name, err := deb.DefaultToolingImage(pp.db.release)
		if err != nil {
			return fmt.Errorf("patching %s: %w", pp.img.Ref, err)
		}
		if ref, err = parseImage(name); err != nil {
			return fmt.Errorf("parsing default tooling image %q: %w", name, err)
		}
	}
	tooling, err := resolveImage(ctx, p.c, p.bc, ref, pp.platform)
	if err != nil {
		return fmt.Errorf("%s has no package manager and its tooling image is unavailable: %w", pp.img.Ref, err)
	}
	pp.tooling = &tooling
	pp.summary.ToolingImage = tooling.Ref.String()
	pp.summary.ToolingDigest = tooling.Digest.String()
	p.info(ctx, pp.img, fmt.Sprintf("%s has no package manager (%s): patching it from the tooling image %s@%s",
		pp.img.Ref, pp.summary.Platform, tooling.Ref, tooling.Digest))
	return nil
}

// info shows a message in BuildKit's progress, as a low-level warning:
// the gateway has no other channel for a frontend's notes.
func (p *patcher) info(ctx context.Context, img image, msg string) {
	def, err := img.State.Marshal(ctx)
	if err != nil {
		return
	}
	if dgst, err := def.Head(); err == nil {
		// A note that cannot be delivered must not fail the patch.
		_ = p.c.Warn(ctx, dgst, msg, gwclient.WarnOpts{Level: 0})
	}
}
