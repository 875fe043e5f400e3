package distros

// Where a step sees the images it patches. Scripts find them in the
// environment too (DARN_BASE, DARN_TARGET).
const (
	// BaseDir holds the untouched original root, read-only, so that a
	// step can restore files it must not change and compare against it.
	BaseDir = "/run/darn/base"
	// TargetDir holds the image's root, read-write, when the step runs in
	// a tooling image; the step's result is that mount.
	TargetDir = "/run/darn/target"
	// ScriptDir holds the step's script, read-only.
	ScriptDir = "/run/darn/script"
)

// Step describes one step a family runs: a constant script with its
// arguments and environment, the caches it keeps, and where it runs. It
// is data: package llb turns it into LLB, the same way for every family,
// with the mounts every step has (the script, the original root) and the
// cache IDs that keep one image's caches from another's.
type Step struct {
	// Name says what the step does, for the progress display.
	Name string
	// ScriptName and Script are the script's file name and constant text;
	// values from reports or users reach it only as Args and Env.
	ScriptName, Script string
	// Command, when set, is run instead of a script: a program of the
	// image the step runs in (darn's own installer in darn's image),
	// with Args after it.
	Command []string
	Args    []string
	// Env is the step's own environment, in a fixed order.
	Env [][2]string
	// Caches are the cache mounts the step keeps between runs.
	Caches []Cache
	// Tmpfs lists the paths mounted as tmpfs: what the package manager
	// writes there never reaches the image.
	Tmpfs []string
	// InTooling runs the step in the tooling image, the image's root at
	// TargetDir; otherwise it runs in the image itself.
	InTooling bool
	// CachePerTarget keeps a tooling step's caches per image patched too,
	// not only per tooling image: for steps that fetch what the image's
	// own configuration (its repositories) names.
	CachePerTarget bool
	// Output, when set, is a directory mounted empty whose content is the
	// step's result: a probe's answer, the file Answer in it. The image
	// itself is not changed.
	Output, Answer string
}

// Cache is one cache mount of a step. Its ID names the family, the
// platform and the image whose programs run the step, and Name.
type Cache struct {
	Path string
	Name string
}
