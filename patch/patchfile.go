package patch

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// A Patchfile is a Dockerfile-shaped file that names the image to patch:
//
//	# syntax=registry.example/darn/frontend:1
//	ARG TAG=12
//	FROM debian:${TAG}
//
// It lets `docker buildx build -f Patchfile .` and bake run darn like any
// Dockerfile. Only ARG and one FROM are allowed: anything else would
// suggest a build darn does not do.

// ParsePatchfile returns the image a Patchfile names, with ARGs expanded
// from their defaults and the build arguments. Errors carry the location of
// the offending line.
func ParsePatchfile(dt []byte, buildArgs map[string]string) (string, error) {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return "", fmt.Errorf("parsing Patchfile: %w", err)
	}
	lex := shell.NewLex(res.EscapeToken)
	args := argEnv{}
	var image string
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "arg":
			if err := args.declare(n, lex, buildArgs); err != nil {
				return "", err
			}
		case "from":
			if image != "" {
				return "", parser.WithLocation(errors.New("a Patchfile names one image: a second FROM is not allowed"), n.Location())
			}
			if image, err = fromImage(n, lex, args); err != nil {
				return "", err
			}
		default:
			return "", parser.WithLocation(fmt.Errorf("unsupported instruction %s in a Patchfile: only ARG and one FROM are allowed", strings.ToUpper(n.Value)), n.Location())
		}
	}
	if image == "" {
		return "", errors.New("the Patchfile has no FROM naming the image to patch")
	}
	return image, nil
}

// fromImage reads "FROM image" with ARGs expanded.
func fromImage(n *parser.Node, lex *shell.Lex, args argEnv) (string, error) {
	if len(n.Flags) > 0 || n.Next == nil || n.Next.Next != nil {
		return "", parser.WithLocation(errors.New("FROM in a Patchfile takes exactly one image reference, without flags or AS"), n.Location())
	}
	image, _, err := lex.ProcessWord(n.Next.Value, args)
	if err != nil {
		return "", parser.WithLocation(fmt.Errorf("expanding %q: %w", n.Next.Value, err), n.Location())
	}
	if image == "" {
		return "", parser.WithLocation(fmt.Errorf("FROM %s expands to an empty image reference", n.Next.Value), n.Location())
	}
	return image, nil
}

// argEnv holds the declared ARGs; only declared ones expand, as in a
// Dockerfile.
type argEnv map[string]string

// declare records "ARG NAME[=default] ...", a build argument overriding
// the default.
func (a argEnv) declare(n *parser.Node, lex *shell.Lex, buildArgs map[string]string) error {
	for w := n.Next; w != nil; w = w.Next {
		name, def, hasDefault := strings.Cut(w.Value, "=")
		if name == "" {
			return parser.WithLocation(fmt.Errorf("ARG %q has no name", w.Value), n.Location())
		}
		if hasDefault {
			v, _, err := lex.ProcessWord(def, a)
			if err != nil {
				return parser.WithLocation(fmt.Errorf("expanding ARG %s: %w", name, err), n.Location())
			}
			def = v
		}
		if v, ok := buildArgs[name]; ok {
			def = v
		}
		a[name] = def
	}
	return nil
}

// Get implements shell.EnvGetter.
func (a argEnv) Get(k string) (string, bool) {
	v, ok := a[k]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (a argEnv) Keys() []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
