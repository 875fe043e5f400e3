package plugin

import (
	"errors"
	"fmt"
	"os"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	dockerplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/darn-dev/darn/patch"
)

// Exit codes of docker-patch.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Main runs docker-patch and returns its exit code.
func Main() int {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitError
	}
	meta := metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "darn",
		Version:          patch.Version,
		ShortDescription: "Patch vulnerable OS packages in container images",
		URL:              "https://github.com/darn-dev/darn",
	}
	err = dockerplugin.RunPlugin(dockerCLI, NewRootCmd(dockerCLI), meta)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errChangesPending) {
		return exitChangesPending
	}
	fmt.Fprintln(dockerCLI.Err(), "ERROR:", err)
	return exitCode(err)
}

// exitCode maps an error to docker-patch's exit code.
func exitCode(err error) int {
	var pe planError
	if errors.As(err, &pe) {
		return exitError
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var se cli.StatusError
	if errors.As(err, &se) && se.StatusCode != 0 {
		return se.StatusCode
	}
	return exitError
}

// NewRootCmd returns the "patch" command with its subcommands.
func NewRootCmd(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patch",
		Short: "Patch vulnerable OS packages in container images",
		Long: "Patch the vulnerable OS packages of a container image in place: darn upgrades exactly\n" +
			"the packages a scanner report names and appends one layer to the original layers.",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return dockerplugin.PersistentPreRunE(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for \"docker patch\"", args[0])}
			}
			return cmd.Help()
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.AddCommand(imageCmd(dockerCLI))
	cmd.AddCommand(policyCmd(dockerCLI))
	cmd.AddCommand(planCmd(dockerCLI))
	return cmd
}

// flagError marks flag parsing errors as usage errors.
func flagError(cmd *cobra.Command, err error) error {
	return usageError{fmt.Errorf("%w\nSee 'docker patch %s --help'.", err, cmd.Name())} //nolint:revive,staticcheck // the docker CLI's message
}
