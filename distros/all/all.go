// Package all is the registry of every package family darn patches: the
// one place that names them. The frontend passes it to the patch core,
// which reaches families only through it.
package all

import (
	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/distros/rpm"
)

// Families returns every family, in the order their detection is tried.
func Families() distros.Registry {
	return distros.Registry{deb.Family{}, rpm.Family{}}
}
