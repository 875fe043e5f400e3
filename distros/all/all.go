// Package all is the registry of every package family darn patches: the
// one place that names them. The frontend passes it to the patch core,
// which reaches families only through it.
package all

import (
	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/apk"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/distros/rpm"
)

// ImageRepository is where darn's own image is published: the frontend,
// and the apk installer that patches apk images from it.
const ImageRepository = "ghcr.io/darn-dev/darn"

// Families returns every family, in the order their detection is tried.
// The apk family's tooling image is darn's own image of version (darn's
// version, patch.Version), so that a patch runs the installer built with
// the frontend that plans it.
func Families(version string) distros.Registry {
	return distros.Registry{deb.Family{}, rpm.Family{}, apk.Family{ToolingImage: ImageRepository + ":" + version}}
}
