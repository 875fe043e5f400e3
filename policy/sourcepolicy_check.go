package policy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/solver/pb"
	srctypes "github.com/moby/buildkit/source/types"
	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
)

// validatePolicy checks every rule, then, when all are sound, that no
// conversions feed each other.
func validatePolicy(p *spb.Policy, filename string) error {
	var errs []error
	for i, r := range p.Rules {
		if err := validateRule(r); err != nil {
			errs = append(errs, ruleError(filename, i, r, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return errors.Join(checkLoops(p, filename)...)
}

func ruleError(filename string, i int, r *spb.Rule, err error) error {
	e := &SourcePolicyError{Filename: filename, Rule: i + 1, Err: err}
	if r != nil {
		e.Action, e.Identifier = r.Action.String(), r.Selector.GetIdentifier()
	}
	return e
}

// validateRule checks one rule on its own.
func validateRule(r *spb.Rule) error {
	if r == nil {
		return errors.New("rule is null")
	}
	if _, ok := spb.PolicyAction_name[int32(r.Action)]; !ok {
		return fmt.Errorf("action %d: want ALLOW, DENY or CONVERT", r.Action)
	}
	if r.Selector == nil || r.Selector.Identifier == "" {
		return errors.New("selector.identifier is empty: name the sources to match, e.g. docker-image://docker.io/library/debian:12")
	}
	if err := validateSelector(r.Selector); err != nil {
		return err
	}
	if r.Action == spb.PolicyAction_CONVERT {
		if err := validateUpdates(r); err != nil {
			return err
		}
		// RepoMirrors reads http(s) CONVERT rules as repository mirrors:
		// one that is not a valid mirror fails here, where the error can
		// name the file, rather than when a patch starts.
		_, _, err := repoMirror(r)
		return err
	}
	if r.Updates != nil {
		return fmt.Errorf("%s rules take no updates: only CONVERT rewrites a source", r.Action)
	}
	return nil
}

func validateSelector(s *spb.Selector) error {
	if _, ok := spb.MatchType_name[int32(s.MatchType)]; !ok {
		return fmt.Errorf("selector.match_type %d: want WILDCARD, EXACT or REGEX", s.MatchType)
	}
	for i, c := range s.Constraints {
		if err := validateConstraint(c); err != nil {
			return fmt.Errorf("selector.constraints[%d]: %w", i, err)
		}
	}
	if err := compileSelector(s); err != nil {
		return fmt.Errorf("selector.identifier: %w", err)
	}
	id := s.Identifier
	switch {
	case s.MatchType == spb.MatchType_REGEX:
		// A regular expression matches anywhere in an identifier.
		return nil
	case s.MatchType == spb.MatchType_EXACT || !strings.Contains(id, "*"):
		return checkIdentifier("selector.identifier", id)
	}
	scheme, _, ok := strings.Cut(id, "://")
	if !ok && !strings.HasPrefix(id, "*") {
		return fmt.Errorf("selector.identifier %q has no scheme, so it matches no source: BuildKit matches identifiers such as docker-image://docker.io/library/debian:12", id)
	}
	if ok && !strings.Contains(scheme, "*") {
		return checkScheme("selector.identifier", id, scheme)
	}
	return nil
}

func validateConstraint(c *spb.AttrConstraint) error {
	if c == nil {
		return errors.New("constraint is null")
	}
	if _, ok := spb.AttrMatch_name[int32(c.Condition)]; !ok {
		return fmt.Errorf("condition %d: want EQUAL, NOTEQUAL or MATCHES", c.Condition)
	}
	if c.Key == "" {
		return errors.New("key is empty: name the source attribute to compare")
	}
	if c.Condition == spb.AttrMatch_MATCHES {
		if _, err := regexp.Compile(c.Value); err != nil {
			return fmt.Errorf("value: %w", err)
		}
	}
	return nil
}

// compileSelector has BuildKit's engine compile a WILDCARD or REGEX
// pattern, by evaluating a source the selector cannot equal: a pattern the
// engine rejects fails every build that has any source.
func compileSelector(s *spb.Selector) error {
	if s.MatchType == spb.MatchType_EXACT {
		return nil
	}
	probe := &spb.Policy{Rules: []*spb.Rule{{
		Action:   spb.PolicyAction_ALLOW,
		Selector: &spb.Selector{Identifier: s.Identifier, MatchType: s.MatchType},
	}}}
	_, err := sourcepolicy.NewEngine([]*spb.Policy{probe}).Evaluate(context.Background(), &pb.SourceOp{})
	// The engine wraps the cause in its own words several times over.
	for err != nil && errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err
}

// validateUpdates checks what a CONVERT rule converts to.
func validateUpdates(r *spb.Rule) error {
	u := r.Updates
	if u == nil || u.Identifier == "" && len(u.Attrs) == 0 {
		return errors.New("CONVERT needs updates.identifier (the source to use instead) or updates.attrs")
	}
	if _, ok := u.Attrs[""]; ok {
		return errors.New("updates.attrs has an empty key")
	}
	if u.Identifier == "" {
		return nil
	}
	if r.Selector.MatchType != spb.MatchType_EXACT && strings.Contains(u.Identifier, "$") {
		// A template such as docker-image://mirror/${1}: its result
		// depends on the source, checkLoops tries one.
		return nil
	}
	return checkIdentifier("updates.identifier", u.Identifier)
}

// checkIdentifier checks a literal identifier: a scheme BuildKit knows
// and, for images, a reference in the form BuildKit compares and pulls.
func checkIdentifier(field, id string) error {
	scheme, ref, ok := strings.Cut(id, "://")
	if !ok {
		scheme = ""
	}
	if err := checkScheme(field, id, scheme); err != nil || scheme != srctypes.DockerImageScheme {
		return err
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("%s: parsing image reference %q: %w", field, ref, err)
	}
	if want := reference.TagNameOnly(named).String(); want != ref {
		return fmt.Errorf("%s: BuildKit names this image docker-image://%s (normalized, with a tag or digest), so write that", field, want)
	}
	return nil
}

// checkScheme checks the scheme of an identifier: BuildKit has a source
// for each of these.
func checkScheme(field, id, scheme string) error {
	switch scheme {
	case srctypes.DockerImageScheme, srctypes.DockerImageBlobScheme, srctypes.GitScheme, srctypes.LocalScheme,
		srctypes.HTTPScheme, srctypes.HTTPSScheme, srctypes.OCIScheme, srctypes.OCIBlobScheme:
		return nil
	}
	return fmt.Errorf("%s %q: not a source BuildKit knows: start it with docker-image://, git://, https://, http://, local:// or oci-layout://", field, id)
}

// checkLoops evaluates each CONVERT rule's own selector (a wildcard with
// its stars filled in) under the whole policy with BuildKit's engine:
// conversions that keep matching their own results fail every build that
// meets them, after BuildKit's 20 conversions.
func checkLoops(p *spb.Policy, filename string) []error {
	engine := sourcepolicy.NewEngine([]*spb.Policy{p})
	var errs []error
	for i, r := range p.Rules {
		if r.Action != spb.PolicyAction_CONVERT || r.Selector.MatchType == spb.MatchType_REGEX || len(r.Selector.Constraints) > 0 {
			continue
		}
		sample := strings.ReplaceAll(r.Selector.Identifier, "*", "x")
		if _, err := engine.Evaluate(context.Background(), &pb.SourceOp{Identifier: sample}); errors.Is(err, sourcepolicy.ErrTooManyOps) {
			errs = append(errs, ruleError(filename, i, r, fmt.Errorf("converting %s never ends: the result matches a CONVERT rule again, and again", sample)))
		}
	}
	return errs
}
