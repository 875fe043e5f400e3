package plugin

import (
	"context"
	"os"
	"testing"

	dockerclient "github.com/moby/moby/client"
)

func TestTmpInfo(t *testing.T) {
	api, err := dockerclient.New(dockerclient.WithHost(os.Getenv("DARN_DOCKER_HOST")))
	if err != nil { t.Fatal(err) }
	c, err := dockerBuildkit(context.Background(), api)
	if err != nil { t.Fatal(err) }
	_, err = c.Info(context.Background())
	t.Logf("Info: %v", err)
	ws, err := c.ListWorkers(context.Background())
	t.Logf("workers: %+v %v", ws, err)
	du, err := c.DiskUsage(context.Background())
	t.Logf("du: %d %v", len(du), err)
}
