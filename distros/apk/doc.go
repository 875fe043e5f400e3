// Package apk is the apk package family: Alpine, Wolfi and Chainguard
// images, with or without apk in them. It reads the installed database
// (lib/apk/db/installed), orders versions as apk does, and describes the
// one step that patches an image: darn's own installer (tooling/apk), run
// from darn's image with the image's root mounted, which verifies every
// index and package against the image's keys and writes into the root
// without running any of the image's code.
package apk
