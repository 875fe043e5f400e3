package frontend

import (
	"fmt"
	"strings"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
)

// CapsError says which BuildKit capabilities darn needs and the builder
// lacks, and which builders have them.
type CapsError struct {
	Missing []apicaps.CapID
}

func (e *CapsError) Error() string {
	ids := make([]string, len(e.Missing))
	for i, id := range e.Missing {
		ids[i] = string(id)
	}
	return fmt.Sprintf("this builder's BuildKit lacks what darn needs (%s): use BuildKit v0.11 or later, "+
		"e.g. a buildx builder (docker buildx create --driver docker-container) or buildkitd", strings.Join(ids, ", "))
}

// requiredLLBCaps are the LLB features the upgrade step uses: an exec on
// the pinned image with cache, tmpfs and read-only bind mounts, and a
// script written by a file op. Diff and merge are not needed: the upgraded
// root is exported as is.
func requiredLLBCaps() []apicaps.CapID {
	return []apicaps.CapID{
		pb.CapSourceImage, pb.CapSourceLocal, pb.CapSourceLocalFollowPaths,
		pb.CapExecMetaBase, pb.CapExecMountBind, pb.CapExecMountCache,
		pb.CapExecMountCacheSharing, pb.CapExecMountTmpfs, pb.CapFileBase,
	}
}

// requiredGatewayCaps are the gateway calls Build makes.
func requiredGatewayCaps() []apicaps.CapID {
	return []apicaps.CapID{gwpb.CapReadFile, gwpb.CapReturnMap}
}

// checkCaps fails early, with the list of what is missing, on builders too
// old for darn, instead of a raw gRPC error halfway through.
func checkCaps(opts gwclient.BuildOpts) error {
	var missing []apicaps.CapID
	for _, id := range requiredLLBCaps() {
		if opts.LLBCaps.Supports(id) != nil {
			missing = append(missing, id)
		}
	}
	for _, id := range requiredGatewayCaps() {
		if opts.Caps.Supports(id) != nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return &CapsError{Missing: missing}
	}
	return nil
}

// canSkipContentHash says whether the builder can keep a mount out of
// content-based cache matching (exec.mount.cache.content, BuildKit v0.12):
// darn then spares it a checksum of the whole original root on every cold
// step. Older builders, which darn still supports, would reject the option.
func canSkipContentHash(opts gwclient.BuildOpts) bool {
	return opts.LLBCaps.Supports(pb.CapExecMountContentCache) == nil
}
