package testreport

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
)

//go:embed upgradable.sh
var upgradableScript string

// Candidate is an installed package with a newer version in a security suite.
type Candidate struct {
	Name      string
	Installed string
	Candidate string
	Source    string
}

// Upgradable lists the security updates an image's apt sources offer,
// running apt inside a container of the image on the BuildKit daemon c.
func Upgradable(ctx context.Context, c *client.Client, image string) ([]Candidate, distros.Release, error) {
	st := llb.Image(image, llb.ResolveModeForcePull).User("root").Dir("/")
	run := st.Run(
		darnllb.RunScript("upgradable.sh", upgradableScript),
		llb.AddEnv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.AddMount("/var/lib/apt/lists", llb.Scratch(), llb.Tmpfs()),
		llb.AddMount("/var/cache/apt", llb.Scratch(), llb.Tmpfs()),
		llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs()),
		llb.IgnoreCache,
		llb.WithCustomName("[testreport] list security updates of "+image),
	)
	out := run.AddMount("/out", llb.Scratch())
	files, err := ReadFiles(ctx, c, out, "/upgradable.tsv", "/os-release")
	if err != nil {
		return nil, distros.Release{}, fmt.Errorf("listing security updates of %s: %w", image, err)
	}
	rel, err := distros.ParseOSRelease(files["/os-release"])
	if err != nil {
		return nil, rel, err
	}
	cands, err := parseCandidates(files["/upgradable.tsv"])
	return cands, rel, err
}

func parseCandidates(dt []byte) ([]Candidate, error) {
	var out []Candidate
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("parsing candidate line %q", sc.Text())
		}
		out = append(out, Candidate{Name: f[0], Installed: f[1], Candidate: f[2], Source: f[3]})
	}
	return out, sc.Err()
}

// ReadFiles solves st on the daemon and returns the named files from it.
func ReadFiles(ctx context.Context, c *client.Client, st llb.State, paths ...string) (map[string][]byte, error) {
	files := map[string][]byte{}
	_, err := c.Build(ctx, client.SolveOpt{}, "darn-testreport", func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := gc.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if files[p], err = ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p}); err != nil {
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
		}
		return gwclient.NewResult(), nil
	}, nil)
	return files, err
}
