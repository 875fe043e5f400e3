package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/patch"
)

// addSummary attaches the per-platform summaries to the result.
func (p *patcher) addSummary(res interface{ AddMeta(string, []byte) }) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sort.Slice(p.summaries, func(i, j int) bool { return p.summaries[i].Platform < p.summaries[j].Platform })
	dt, err := json.Marshal(p.summaries)
	if err != nil {
		return fmt.Errorf("marshalling summary: %w", err)
	}
	res.AddMeta(patch.MetadataSummaryKey, dt)
	return nil
}

// warn shows messages in BuildKit's progress, as warnings of the given
// level (0 for notes), attached to the image's vertex: the gateway has no
// other channel for a frontend's words. A message that cannot be
// delivered must not fail the patch.
func (p *patcher) warn(ctx context.Context, st llb.State, level int, msgs ...string) {
	if len(msgs) == 0 {
		return
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return
	}
	dgst, err := def.Head()
	if err != nil {
		return
	}
	for _, m := range msgs {
		_ = p.c.Warn(ctx, dgst, m, gwclient.WarnOpts{Level: level})
	}
}
