package distros

import _ "embed"

// Shell functions every family's steps share, prepended to their scripts:
// RootScript writes into an untrusted image root from a tooling container
// (every path resolved inside the root, files replaced by rename);
// SharedScript gives what a step changed times that do not depend on when
// it ran (settle_times), so that layers are reproducible, and rewrites
// repository URLs for mirrors literally (rewrite).
var (
	//go:embed root.sh
	RootScript string
	//go:embed shared.sh
	SharedScript string
)
