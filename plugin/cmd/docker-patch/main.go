// Command docker-patch is darn's docker CLI plugin: "docker patch image".
// Install it as ~/.docker/cli-plugins/docker-patch.
package main

import (
	"os"

	"github.com/darn-dev/darn/plugin"
)

func main() {
	os.Exit(plugin.Main())
}
