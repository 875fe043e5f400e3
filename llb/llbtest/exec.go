package llbtest

import (
	"fmt"

	"github.com/moby/buildkit/solver/pb"
)

// exec prints an exec op's environment, proxies, user, directory, network and mounts.
func (r *renderer) exec(e *pb.ExecOp) {
	m := e.Meta
	for _, env := range m.Env {
		fmt.Fprintf(&r.b, "  env %s\n", env)
	}
	if p := m.ProxyEnv; p != nil {
		// Proxies stay out of the environment, and so of the cache key.
		fmt.Fprintf(&r.b, "  proxy http=%q https=%q ftp=%q no=%q all=%q\n", p.HttpProxy, p.HttpsProxy, p.FtpProxy, p.NoProxy, p.AllProxy)
	}
	fmt.Fprintf(&r.b, "  user=%q cwd=%q network=%s security=%s\n", m.User, m.Cwd, e.Network, e.Security)
	for _, mnt := range e.Mounts {
		fmt.Fprintf(&r.b, "  mount %s %s", mnt.Dest, mnt.MountType)
		if mnt.Input >= 0 {
			fmt.Fprintf(&r.b, " input=%d", mnt.Input)
		}
		if mnt.Readonly {
			r.b.WriteString(" readonly")
		}
		if mnt.ContentCache != pb.MountContentCache_DEFAULT {
			fmt.Fprintf(&r.b, " content-cache=%s", mnt.ContentCache)
		}
		if mnt.Selector != "" {
			fmt.Fprintf(&r.b, " selector=%s", mnt.Selector)
		}
		if c := mnt.CacheOpt; c != nil {
			fmt.Fprintf(&r.b, " cache=%s sharing=%s", c.ID, c.Sharing)
		}
		if mnt.Output >= 0 {
			fmt.Fprintf(&r.b, " output=%d", mnt.Output)
		}
		r.b.WriteString("\n")
	}
}

// file prints a file op's actions; file contents appear only by size.
func (r *renderer) file(f *pb.FileOp) {
	for _, a := range f.Actions {
		switch x := a.Action.(type) {
		case *pb.FileAction_Mkfile:
			fmt.Fprintf(&r.b, "  mkfile %s mode=%o size=%d\n", x.Mkfile.Path, x.Mkfile.Mode, len(x.Mkfile.Data))
		case *pb.FileAction_Mkdir:
			fmt.Fprintf(&r.b, "  mkdir %s mode=%o\n", x.Mkdir.Path, x.Mkdir.Mode)
		case *pb.FileAction_Copy:
			fmt.Fprintf(&r.b, "  copy %s -> %s\n", x.Copy.Src, x.Copy.Dest)
		case *pb.FileAction_Rm:
			fmt.Fprintf(&r.b, "  rm %s\n", x.Rm.Path)
		default:
			fmt.Fprintf(&r.b, "  %T\n", x)
		}
	}
}
