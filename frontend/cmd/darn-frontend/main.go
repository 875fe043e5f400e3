// Command darn-frontend is darn's BuildKit gateway frontend. BuildKit runs
// it inside the frontend image and talks to it over stdio.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"

	"github.com/darn-dev/darn/frontend"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "fatal error: %+v\n", err)
		os.Exit(1)
	}
}
