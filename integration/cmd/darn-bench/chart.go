package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
)

// The chart: one horizontal bar per measurement and one per floor, each
// split into its phases, in two panels (wall times in seconds, patch layers
// in KiB), with the verdicts beside the bars and a legend of the phases.
const (
	chartWidth = 2000
	labelWidth = 640
	valueWidth = 520
	barHeight  = 16
	barGap     = 4
	groupGap   = 12
	margin     = 16
)

// phaseColors colors each phase; a phase not listed is drawn grey.
var phaseColors = map[string]color.RGBA{
	"probe": {70, 130, 180, 255}, "list": {128, 90, 170, 255}, "index refresh": {240, 150, 40, 255},
	"pin": {230, 200, 40, 255}, "download": {60, 160, 70, 255}, "install": {210, 60, 50, 255},
	"clean-up": {140, 90, 50, 255}, "unpack+clean-up": {140, 90, 50, 255}, "read-back": {230, 120, 180, 255},
	"export": {110, 110, 110, 255}, "pull": {135, 190, 230, 255}, "unpack": {250, 120, 90, 255},
	"rest": {190, 190, 190, 255}, "total": {90, 90, 90, 255}, "other": {200, 200, 200, 255},
	"layer": {70, 130, 180, 255}, "changed content": {135, 190, 230, 255}, "throughput": {60, 160, 70, 255},
}

// chartBar is one bar: its label, its parts and the text after it.
type chartBar struct {
	Label string
	Parts []phase
	Value string
	Mark  string
}

// panel is a titled set of bars sharing one scale.
type panel struct {
	Title string
	Bars  [][]chartBar // groups of bars: a measurement and its floor
}

// writeChart draws the rows into a PNG at path.
func (res results) writeChart(path string) error {
	var panels []panel
	for _, p := range []panel{res.timePanel(false), res.timePanel(true), res.layerPanel(), res.parserPanel()} {
		if len(p.Bars) > 0 {
			panels = append(panels, p)
		}
	}
	height := margin*2 + glyphHeight*3 + 50
	for _, p := range panels {
		height += glyphHeight + 16
		for _, g := range p.Bars {
			height += len(g)*(barHeight+barGap) + groupGap
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	title := fmt.Sprintf("darn-bench %s: medians of %d runs (darn, then its floor, split by phase)", res.Started.Format("2006-01-02 15:04"), res.Runs)
	drawText(img, margin, margin, title, color.Black)
	y := margin + glyphHeight + 20
	for _, p := range panels {
		y = drawPanel(img, p, y)
	}
	drawLegend(img, height-margin-2*glyphHeight-8)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

// timePanel holds the wall-time rows: the two-platform index's (multi,
// ten times longer under emulation) in a panel of their own.
func (res results) timePanel(multi bool) panel {
	p := panel{Title: "wall time (s)"}
	if multi {
		p.Title = "two-platform index, wall time (s); its floor is the slowest platform patched alone"
	}
	for _, r := range res.Rows {
		if r.Unit != "s" || (r.Group == "multi") != multi {
			continue
		}
		g := []chartBar{{Label: r.Group + ": " + r.Name, Parts: parts(r.Phases, r.Median), Value: format(r.Median, r.Unit), Mark: markOf(r)}}
		if len(r.FloorRuns) > 0 {
			g = append(g, chartBar{Label: "  floor", Parts: parts(r.FloorPhases, r.Floor), Value: format(r.Floor, r.Unit)})
		}
		p.Bars = append(p.Bars, g)
	}
	return p
}

// layerPanel holds the patch layers and their floors.
func (res results) layerPanel() panel {
	p := panel{Title: "patch layer (KiB, compressed)"}
	for _, r := range res.Rows {
		if r.Unit != "B" {
			continue
		}
		p.Bars = append(p.Bars, []chartBar{
			{Label: r.Group + ": layer", Parts: []phase{{"layer", r.Median / 1024}}, Value: format(r.Median, r.Unit), Mark: markOf(r)},
			{Label: "  changed content", Parts: []phase{{"changed content", r.Floor / 1024}}, Value: format(r.Floor, r.Unit)},
		})
	}
	return p
}

// parserPanel holds the parsers' throughput; a benchmark that reports
// none (no SetBytes) is left out.
func (res results) parserPanel() panel {
	p := panel{Title: "parsers (MB/s, higher is faster; median time and allocations per parse)"}
	for _, r := range res.Rows {
		mbs, ok := r.Detail["MB/s"].(float64)
		if r.Unit != "ns/op" || !ok {
			continue
		}
		allocs, _ := r.Detail["allocs/op"].(float64)
		p.Bars = append(p.Bars, []chartBar{{
			Label: r.Name, Parts: []phase{{"throughput", mbs}},
			Value: fmt.Sprintf("%.0f MB/s, %s, %.0f allocs", mbs, formatNanos(r.Median), allocs),
		}})
	}
	return p
}

// parts are a bar's phases, with what they leave of the total as
// "other"; a row without phases is one part.
func parts(ps []phase, total float64) []phase {
	if len(ps) == 0 {
		return []phase{{"total", total}}
	}
	sum := 0.0
	for _, p := range ps {
		sum += p.Seconds
	}
	if total-sum > 0.01 {
		return append(ps, phase{"other", total - sum})
	}
	return ps
}

// markOf is the verdict and ratio written after a bar.
func markOf(r row) string {
	if r.Verdict == "" {
		return ""
	}
	if r.Ratio > 0 {
		return fmt.Sprintf("%s %.2fx", r.Verdict, r.Ratio)
	}
	return r.Verdict
}

// drawPanel draws a panel from y down and returns where the next starts.
func drawPanel(img *image.RGBA, p panel, y int) int {
	drawText(img, margin, y, p.Title, color.Black)
	y += glyphHeight + 16
	scale := 0.0
	for _, g := range p.Bars {
		for _, b := range g {
			scale = max(scale, total(b.Parts))
		}
	}
	width := float64(chartWidth - labelWidth - valueWidth - 2*margin)
	for _, g := range p.Bars {
		for _, b := range g {
			drawBar(img, b, y, width/max(scale, 1e-9))
			y += barHeight + barGap
		}
		y += groupGap
	}
	return y
}

// drawBar draws one bar at y with pixels per unit perUnit.
func drawBar(img *image.RGBA, b chartBar, y int, perUnit float64) {
	drawText(img, margin, y+1, b.Label, color.Black)
	x := float64(margin + labelWidth)
	for _, p := range b.Parts {
		w := p.Seconds * perUnit
		c, ok := phaseColors[p.Name]
		if !ok {
			c = phaseColors["other"]
		}
		r := image.Rect(int(x), y, int(x+w)+1, y+barHeight)
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
		x += w
	}
	drawText(img, int(x)+8, y+1, b.Value, color.Black)
	markColor := color.RGBA{0, 130, 0, 255}
	if len(b.Mark) >= 5 && b.Mark[:5] == "ABOVE" {
		markColor = color.RGBA{200, 0, 0, 255}
	}
	drawText(img, int(x)+8+textWidth(b.Value)+12, y+1, b.Mark, markColor)
}

func total(ps []phase) float64 {
	s := 0.0
	for _, p := range ps {
		s += p.Seconds
	}
	return s
}

// legendOrder is the order of the legend's entries.
var legendOrder = []string{"pull", "probe", "list", "index refresh", "pin", "download", "install", "unpack", "unpack+clean-up", "clean-up", "read-back", "export", "rest", "other"}

// drawLegend draws the phase colors from y, in two lines at most.
func drawLegend(img *image.RGBA, y int) {
	x := margin
	for _, name := range legendOrder {
		if x+glyphHeight+6+textWidth(name) > chartWidth-margin {
			x, y = margin, y+glyphHeight+8
		}
		r := image.Rect(x, y, x+glyphHeight, y+glyphHeight)
		draw.Draw(img, r, image.NewUniform(phaseColors[name]), image.Point{}, draw.Src)
		drawText(img, x+glyphHeight+6, y, name, color.Black)
		x += glyphHeight + 6 + textWidth(name) + 18
	}
}
