// Package plugin is the docker CLI plugin docker-patch ("docker patch image
// IMAGE ..."). It holds no patch logic: it maps flags to darn's frontend
// options, connects to a BuildKit daemon, runs the frontend, exports the
// result and prints what changed.
package plugin
