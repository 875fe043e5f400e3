// Command darn-testreport supports the test bed and `make demo`:
//
//	darn-testreport report IMAGE FILE   write a Trivy-shaped report of the
//	                                    security updates IMAGE's sources offer
//	darn-testreport compare OLD NEW     print the packages whose versions
//	                                    differ, read from both images' dpkg DB
//
// It talks to the BuildKit daemon named by BUILDKIT_HOST.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client"

	"github.com/darn-dev/darn/integration/testreport"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: darn-testreport report IMAGE FILE | compare OLD NEW")
		os.Exit(2)
	}
	ctx := context.Background()
	c, err := client.New(ctx, os.Getenv("BUILDKIT_HOST"))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	switch os.Args[1] {
	case "report":
		err = writeReport(ctx, c, os.Args[2], os.Args[3])
	case "compare":
		err = compare(ctx, c, os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func writeReport(ctx context.Context, c *client.Client, image, file string) error {
	cands, rel, err := testreport.Upgradable(ctx, c, image)
	if err != nil {
		return err
	}
	dt, err := testreport.TrivyJSON(image, rel, cands)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d packages of %s have security updates\n", len(cands), image)
	return os.WriteFile(file, dt, 0o644)
}

func compare(ctx context.Context, c *client.Client, before, after string) error {
	old, err := testreport.InstalledPackages(ctx, c, before)
	if err != nil {
		return err
	}
	now, err := testreport.InstalledPackages(ctx, c, after)
	if err != nil {
		return err
	}
	fmt.Printf("Packages read back from the dpkg databases of\n  before: %s\n  after:  %s\n\n", before, after)
	if testreport.PrintComparison(os.Stdout, old, now) == 0 {
		fmt.Println("(no package changed)")
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "darn-testreport:", err)
	os.Exit(1)
}
