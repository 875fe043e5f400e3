package plugin

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/cli/cli/command"
	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// dockerLoad streams a type=docker export into the Docker daemon's image
// store, as `docker buildx build --load` does.
type dockerLoad struct {
	pr   *io.PipeReader
	pw   *io.PipeWriter
	done chan error
}

// startLoad starts the daemon side of the load; the export writes into it.
func startLoad(ctx context.Context, dockerCLI command.Cli) *dockerLoad {
	pr, pw := io.Pipe()
	l := &dockerLoad{pr: pr, pw: pw, done: make(chan error, 1)}
	go func() {
		err := loadImage(ctx, dockerCLI, pr)
		pr.CloseWithError(err)
		l.done <- err
	}()
	return l
}

func loadImage(ctx context.Context, dockerCLI command.Cli, r io.Reader) error {
	resp, err := dockerCLI.Client().ImageLoad(ctx, r, dockerclient.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading image into the Docker daemon: %w", err)
	}
	defer resp.Close()
	// The daemon reports load errors inside a 200 response's JSON stream.
	if err := jsonmessage.DisplayJSONMessagesStream(resp, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("loading image into the Docker daemon: %w", err)
	}
	return nil
}

// export is the BuildKit export that feeds the load.
func (l *dockerLoad) export(tag string) bkclient.ExportEntry {
	return bkclient.ExportEntry{
		Type:   bkclient.ExporterDocker,
		Attrs:  map[string]string{"name": tag},
		Output: func(map[string]string) (io.WriteCloser, error) { return l.pw, nil },
	}
}

// wait ends the load: after a failed build it aborts the daemon side,
// which would otherwise wait for a tarball forever.
func (l *dockerLoad) wait(buildErr error) error {
	if buildErr != nil {
		l.pw.CloseWithError(buildErr)
	}
	_ = l.pw.Close()
	return <-l.done
}

// pushWithDocker pushes an image from the Docker daemon's store: the
// daemon's own BuildKit (Docker 20.10) stores results but does not push
// them itself.
func pushWithDocker(ctx context.Context, dockerCLI command.Cli, tag string) error {
	auth, err := command.RetrieveAuthTokenFromImage(dockerCLI.ConfigFile(), tag)
	if err != nil {
		return fmt.Errorf("reading registry credentials for %s: %w", tag, err)
	}
	resp, err := dockerCLI.Client().ImagePush(ctx, tag, dockerclient.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pushing %s: %w", tag, err)
	}
	defer resp.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, err)
	}
	return nil
}
