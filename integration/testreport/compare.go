package testreport

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/plan"
)

// InstalledPackages reads the dpkg database out of an image on the daemon.
func InstalledPackages(ctx context.Context, c *client.Client, image string) ([]plan.Package, error) {
	st := llb.Image(image, llb.ResolveModeForcePull)
	files, err := ReadFiles(ctx, c, st, "/var/lib/dpkg/status")
	if err != nil {
		return nil, fmt.Errorf("reading dpkg status of %s: %w", image, err)
	}
	return deb.ParseStatus(files["/var/lib/dpkg/status"])
}

// PrintComparison writes a table of the packages whose versions differ
// between two package lists.
func PrintComparison(w io.Writer, before, after []plan.Package) int {
	old := map[string]string{}
	for _, p := range before {
		old[p.Name] = p.Version
	}
	var names []string
	now := map[string]string{}
	for _, p := range after {
		now[p.Name] = p.Version
		if old[p.Name] != p.Version {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tBEFORE\tAFTER")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, old[n], now[n])
	}
	_ = tw.Flush()
	return len(names)
}
