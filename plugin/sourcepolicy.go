package plugin

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/policy"
)

// envSourcePolicy names a source policy file for every build, as buildx
// reads it (build.ReadSourcePolicy).
const envSourcePolicy = "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY"

// loadSourcePolicy reads the BuildKit source policy that applies to a patch:
// the --source-policy file, else the file $EXPERIMENTAL_BUILDKIT_SOURCE_POLICY
// names, as buildx reads it; nil when neither is set. Set on
// client.SolveOpt.SourcePolicy, BuildKit applies it to every source of the
// solve and to every image resolution: the image to patch, the tooling
// image and a frontend image alike. An unreadable --source-policy file is a
// usage error.
func loadSourcePolicy(flagPath string, getenv func(string) string) (*spb.Policy, error) {
	path, from := flagPath, "--source-policy"
	if path == "" {
		path, from = getenv(envSourcePolicy), "$"+envSourcePolicy
	}
	if path == "" {
		return nil, nil
	}
	dt, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("reading source policy (%s): %w", from, err)
		if flagPath != "" {
			return nil, usageError{err}
		}
		return nil, err
	}
	return policy.ParseSourcePolicy(dt, path)
}

// errNoSourcePolicy is returned when a policy is set but the builder would
// ignore it: daemons before BuildKit v0.11 drop the policy from the solve
// request without a word, and would pull unpinned images.
var errNoSourcePolicy = errors.New("this builder's BuildKit ignores source policies (it lacks " + string(pb.CapSourcePolicy) +
	"): use BuildKit v0.11 or later, or drop --source-policy and $" + envSourcePolicy)

// checkSourcePolicySupport fails when pol is set and the builder lacks
// source policies. Call it first thing in a build function.
func checkSourcePolicySupport(opts gwclient.BuildOpts, pol *spb.Policy) error {
	if pol != nil && opts.LLBCaps.Supports(pb.CapSourcePolicy) != nil {
		return errNoSourcePolicy
	}
	return nil
}

// explainSourcePolicyError names the rule that denied a source. BuildKit's
// denial reaches the client as text only, `source "docker-image://…" denied
// by policy`, and the policy may be a file the user did not write.
func explainSourcePolicyError(err error, pol *spb.Policy) error {
	if err == nil || pol == nil {
		return err
	}
	m := regexp.MustCompile(`source ("(?:[^"\\]|\\.)*") denied by policy`).FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	id, uerr := strconv.Unquote(m[1])
	i := denyingRule(pol, id)
	if uerr != nil || i < 0 {
		return err
	}
	return fmt.Errorf("%w\nrule %d (DENY %s) of the source policy denies %s", err, i+1, pol.Rules[i].Selector.Identifier, id)
}

// denyingRule is the index of the rule that denies id, found as BuildKit's
// engine finds it: the last ALLOW or DENY rule that matches id wins. It is
// -1 when no DENY rule does.
func denyingRule(pol *spb.Policy, id string) int {
	last := -1
	for i, r := range pol.GetRules() {
		if r.GetAction() == spb.PolicyAction_CONVERT {
			continue
		}
		probe := &spb.Policy{Rules: []*spb.Rule{{Action: spb.PolicyAction_DENY, Selector: r.GetSelector()}}}
		if _, err := policy.ConvertSource(probe, id); errors.Is(err, sourcepolicy.ErrSourceDenied) {
			last = i
		}
	}
	if last < 0 || pol.Rules[last].Action != spb.PolicyAction_DENY {
		return -1
	}
	return last
}

// withPolicyMirrors adds the repository mirrors a source policy names
// (CONVERT rules on http(s) URLs) to the --repo-mirror flags' mirrors. The
// flags come first: for the same original, the first mirror wins. A rule
// that is not a valid mirror is an error, as a bad flag is.
func withPolicyMirrors(flags []distros.Mirror, pol *spb.Policy) ([]distros.Mirror, error) {
	ms, err := policy.RepoMirrors(pol)
	if err != nil {
		return nil, err
	}
	return append(slices.Clip(flags), ms...), nil
}
