package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// timeline is what BuildKit's progress stream said about one solve: when
// each vertex started and completed, and every log line a vertex printed
// with the time BuildKit received it. The phase split reads it instead of
// instrumenting darn, so that what is measured is darn as users run it.
type timeline struct {
	Start, End time.Time
	Vertices   map[digest.Digest]*vertex
	Lines      []logLine
	// Statuses are the named sub-steps vertices report (an exporter's
	// "exporting layers", "pushing layers", …), by vertex and name.
	Statuses map[string]*vertex
	// partial holds the unterminated tail of each vertex's stream.
	partial map[string]*bytes.Buffer
}

// vertex is one LLB vertex (or exporter step) of the solve.
type vertex struct {
	Digest    digest.Digest
	Name      string
	Started   time.Time
	Completed time.Time
	Cached    bool
}

// logLine is one line a vertex printed.
type logLine struct {
	Vertex digest.Digest
	Time   time.Time
	Text   string
}

func newTimeline() *timeline {
	return &timeline{Vertices: map[digest.Digest]*vertex{}, Statuses: map[string]*vertex{}, partial: map[string]*bytes.Buffer{}}
}

// collect drains a solve's status channel into the timeline; it returns
// when BuildKit closes the channel.
func (tl *timeline) collect(ch <-chan *client.SolveStatus) {
	for st := range ch {
		for _, v := range st.Vertexes {
			tl.addVertex(v)
		}
		for _, l := range st.Logs {
			tl.addLog(l)
		}
		for _, s := range st.Statuses {
			tl.addStatus(s)
		}
	}
}

// addVertex records a vertex update: BuildKit sends a vertex several times,
// so the earliest start and the latest completion are kept.
func (tl *timeline) addVertex(v *client.Vertex) {
	cur, ok := tl.Vertices[v.Digest]
	if !ok {
		cur = &vertex{Digest: v.Digest, Name: v.Name}
		tl.Vertices[v.Digest] = cur
	}
	if v.Started != nil && (cur.Started.IsZero() || v.Started.Before(cur.Started)) {
		cur.Started = *v.Started
	}
	if v.Completed != nil && v.Completed.After(cur.Completed) {
		cur.Completed = *v.Completed
	}
	cur.Cached = cur.Cached || v.Cached
}

// addStatus records a vertex's sub-step, as addVertex records vertices.
func (tl *timeline) addStatus(s *client.VertexStatus) {
	key := s.Vertex.String() + " " + s.ID
	cur, ok := tl.Statuses[key]
	if !ok {
		cur = &vertex{Digest: s.Vertex, Name: s.ID}
		tl.Statuses[key] = cur
	}
	if s.Started != nil && (cur.Started.IsZero() || s.Started.Before(cur.Started)) {
		cur.Started = *s.Started
	}
	if s.Completed != nil && s.Completed.After(cur.Completed) {
		cur.Completed = *s.Completed
	}
}

// addLog splits a log chunk into lines; a line split across chunks gets
// the time of the chunk that ends it. apt redraws progress with carriage
// returns: each redraw counts as a line.
func (tl *timeline) addLog(l *client.VertexLog) {
	key := l.Vertex.String() + "/" + string(rune('0'+l.Stream))
	buf := tl.partial[key]
	if buf == nil {
		buf = &bytes.Buffer{}
		tl.partial[key] = buf
	}
	buf.Write(bytes.ReplaceAll(l.Data, []byte("\r"), []byte("\n")))
	for {
		line, err := buf.ReadString('\n')
		if err != nil {
			buf.Reset()
			buf.WriteString(line)
			return
		}
		if s := strings.TrimSpace(line); s != "" {
			tl.Lines = append(tl.Lines, logLine{Vertex: l.Vertex, Time: l.Timestamp, Text: s})
		}
	}
}

// find returns the vertices whose name matches, earliest start first.
func (tl *timeline) find(match func(string) bool) []*vertex {
	var out []*vertex
	for _, v := range tl.Vertices {
		if match(v.Name) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// linesOf returns a vertex's log lines in order.
func (tl *timeline) linesOf(d digest.Digest) []logLine {
	var out []logLine
	for _, l := range tl.Lines {
		if l.Vertex == d {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// dump writes the timeline for a person: every vertex with its start and
// end as offsets from the solve's start, then every log line.
func (tl *timeline) dump(w io.Writer) {
	off := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%7.3f", t.Sub(tl.Start).Seconds())
	}
	for _, v := range tl.find(func(string) bool { return true }) {
		fmt.Fprintf(w, "vertex %s %s cached=%v %s\n", off(v.Started), off(v.Completed), v.Cached, v.Name)
	}
	statuses := make([]*vertex, 0, len(tl.Statuses))
	for _, s := range tl.Statuses {
		statuses = append(statuses, s)
	}
	sort.Slice(statuses, func(i, j int) bool { return statuses[i].Started.Before(statuses[j].Started) })
	for _, s := range statuses {
		fmt.Fprintf(w, "status %s %s %.12s %s\n", off(s.Started), off(s.Completed), s.Digest.Encoded(), s.Name)
	}
	for _, l := range tl.Lines {
		fmt.Fprintf(w, "log %s %.12s %s\n", off(l.Time), l.Vertex.Encoded(), l.Text)
	}
	fmt.Fprintf(w, "end %s\n", off(tl.End))
}
