package frontend

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// fakeClient is a hand-written gateway client: it serves one image, one
// report and one "after the upgrade" package database, and records what
// it was asked to solve. Methods it does not implement panic through the
// nil embedded interface, so a new dependency shows up at once.
type fakeClient struct {
	gwclient.Client

	opts        map[string]string
	imageConfig string
	files       map[string]string // the image's files
	report      string
	patchfile   string
	afterStatus string
	// after, when set, is the patched root's files instead of a status
	// file holding afterStatus.
	after map[string]string
	// upgradable answers the update-all probe ("NAME VERSION" lines).
	upgradable string
	// execErr, when set, is what solving an upgrade step returns.
	execErr error
	// index, when set, makes the image an index; configs then holds each
	// architecture's config, and other platforms are not found.
	index   string
	configs map[string]string
	// reports, when set, is the report context's files instead of
	// report.json holding report.
	reports map[string]string
	// images are further image names the registry has (besides debian).
	images []string
	// policy is the policy context's files.
	policy map[string]string

	mu       sync.Mutex
	solved   []*pb.Definition
	warnings []string
}

func (f *fakeClient) BuildOpts() gwclient.BuildOpts {
	return gwclient.BuildOpts{
		Opts:      f.opts,
		SessionID: "fake-session",
		Workers:   []gwclient.WorkerInfo{{Platforms: []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}}},
		LLBCaps:   pb.Caps.CapSet(pb.Caps.All()),
		Caps:      gwpb.Caps.CapSet(gwpb.Caps.All()),
	}
}

func (f *fakeClient) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if !strings.Contains(ref, "debian") && !slices.ContainsFunc(f.images, func(n string) bool { return strings.Contains(ref, n) }) {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	if f.index != "" && opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		if cfg, ok := f.configs[opt.ImageOpt.Platform.Architecture]; ok {
			return ref, digest.FromString(f.index), []byte(cfg), nil
		}
		return "", "", nil, fmt.Errorf("%s: no match for platform in manifest", ref)
	}
	return ref, digest.FromString("manifest"), []byte(f.imageConfig), nil
}

func (f *fakeClient) Warn(_ context.Context, _ digest.Digest, msg string, _ gwclient.WarnOpts) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.warnings = append(f.warnings, msg)
	return nil
}

// Solve answers by the kind of the definition's head: a local source is
// the report context, an exec is the upgrade, anything else the image.
func (f *fakeClient) Solve(_ context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	f.mu.Lock()
	f.solved = append(f.solved, req.Definition)
	f.mu.Unlock()
	var def llb.Definition
	def.FromPB(req.Definition)
	files := f.files
	switch headSource(&def) {
	case "local://report":
		files = f.reports
		if files == nil {
			files = map[string]string{"report.json": f.report}
		}
	case "local://policy":
		files = f.policy
	case "local://dockerfile":
		files = map[string]string{}
		if f.patchfile != "" {
			files["Dockerfile"] = f.patchfile
		}
	case "":
		// A file op at the head: the files it writes.
		files = headMkfiles(&def)
	case "exec":
		if f.execErr != nil {
			return nil, f.execErr
		}
		if hasScript(&def, "/upgradable.sh") {
			files = map[string]string{"upgradable": f.upgradable}
			break
		}
		files = f.after
		if files == nil {
			files = map[string]string{"/var/lib/dpkg/status": f.afterStatus}
		}
	}
	res := gwclient.NewResult()
	res.SetRef(&fakeRef{files: files})
	return res, nil
}

// headKind says what kind the definition's last op is: "exec", or the
// scheme of a source ("local", "docker-image").
func headKind(def *llb.Definition) string {
	return strings.SplitN(headSource(def), "://", 2)[0]
}

// headSource is the last op's source identifier, or "exec".
func headSource(def *llb.Definition) string {
	head, err := def.Head()
	if err != nil {
		return ""
	}
	for _, dt := range def.Def {
		if digest.FromBytes(dt) != head {
			continue
		}
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return ""
		}
		if src := op.GetSource(); src != nil {
			return src.Identifier
		}
		if op.GetExec() != nil {
			return "exec"
		}
	}
	return ""
}

// fakeRef is a solved result holding a few files.
type fakeRef struct {
	gwclient.Reference
	files map[string]string
}

func (r *fakeRef) ReadFile(_ context.Context, req gwclient.ReadRequest) ([]byte, error) {
	dt, ok := r.files[strings.TrimPrefix(req.Filename, "/")]
	if !ok {
		dt, ok = r.files[req.Filename]
	}
	if !ok {
		return nil, fmt.Errorf("open %s: %w", req.Filename, fs.ErrNotExist)
	}
	// BuildKit sends at most one gRPC message's worth (16 MiB), and reads
	// a range when asked for one.
	if r := req.Range; r != nil {
		end := min(r.Offset+r.Length, len(dt))
		return []byte(dt[min(r.Offset, end):end]), nil
	}
	if len(dt) > maxMsgSize {
		return nil, fmt.Errorf("%s exceeds maximum allowed size of %d bytes", req.Filename, maxMsgSize)
	}
	return []byte(dt), nil
}

// maxMsgSize is BuildKit's limit of an unranged ReadFile.
const maxMsgSize = 16 << 20

func (r *fakeRef) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	dt, err := r.ReadFile(ctx, gwclient.ReadRequest{Filename: req.Path, Range: &gwclient.FileRange{Length: math.MaxInt}})
	if err != nil {
		if _, dirErr := r.ReadDir(ctx, gwclient.ReadDirRequest{Path: req.Path}); dirErr == nil {
			return &fstypes.Stat{Path: req.Path, Mode: uint32(fs.ModeDir | 0o755)}, nil
		}
		return nil, err
	}
	return &fstypes.Stat{Path: req.Path, Size: int64(len(dt))}, nil
}

// solvedKind is headKind of a solved protobuf definition.
func solvedKind(d *pb.Definition) string {
	var def llb.Definition
	def.FromPB(d)
	return headKind(&def)
}

// Inputs has no frontend inputs to offer: darn reads its report from a
// named context, not an input.
func (f *fakeClient) Inputs(context.Context) (map[string]llb.State, error) {
	return map[string]llb.State{}, nil
}

// ReadDir lists the files directly under a directory.
func (r *fakeRef) ReadDir(_ context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	prefix := strings.TrimSuffix(req.Path, "/") + "/"
	if req.Path == "." || req.Path == "" {
		prefix = ""
	}
	var out []*fstypes.Stat
	dirs := map[string]bool{}
	for name, dt := range r.files {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if dir, _, nested := strings.Cut(rest, "/"); nested {
			if !dirs[dir] {
				dirs[dir] = true
				out = append(out, &fstypes.Stat{Path: dir, Mode: uint32(fs.ModeDir | 0o755)})
			}
			continue
		}
		if ok, _ := path.Match(req.IncludePattern, rest); req.IncludePattern != "" && !ok {
			continue
		}
		out = append(out, &fstypes.Stat{Path: rest, Size: int64(len(dt)), Mode: 0o644})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("open %s: %w", req.Path, fs.ErrNotExist)
	}
	return out, nil
}

// headMkfiles returns the files the definition's head file op writes.
func headMkfiles(def *llb.Definition) map[string]string {
	head, err := def.Head()
	if err != nil {
		return nil
	}
	files := map[string]string{}
	for _, dt := range def.Def {
		if digest.FromBytes(dt) != head {
			continue
		}
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil
		}
		for _, a := range op.GetFile().GetActions() {
			if mk := a.GetMkfile(); mk != nil {
				files[mk.Path] = string(mk.Data)
			}
		}
	}
	return files
}

// hasScript reports whether the definition writes the named darn script.
func hasScript(def *llb.Definition, path string) bool {
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			continue
		}
		for _, a := range op.GetFile().GetActions() {
			if mk := a.GetMkfile(); mk != nil && mk.Path == path {
				return true
			}
		}
	}
	return false
}
