package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

// loadSampler samples the machine's one-minute load average while the
// bench runs: a load well above the bench's own says the machine was
// shared, and the figures inflated.
type loadSampler struct {
	done    chan struct{}
	samples chan []float64
}

func startLoadSampler() *loadSampler {
	s := &loadSampler{done: make(chan struct{}), samples: make(chan []float64, 1)}
	go func() {
		var xs []float64
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if l, ok := loadAverage(); ok {
				xs = append(xs, l)
			}
			select {
			case <-s.done:
				s.samples <- xs
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the samples.
func (s *loadSampler) stop() []float64 {
	close(s.done)
	return <-s.samples
}

// loadAverage reads the one-minute load average.
func loadAverage() (float64, bool) {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(dt))
	if len(f) == 0 {
		return 0, false
	}
	l, err := strconv.ParseFloat(f[0], 64)
	return l, err == nil
}

// machineInfo describes the machine and the builder for the results.
func machineInfo(ctx context.Context, c *client.Client, load []float64) map[string]string {
	m := map[string]string{"cpus": strconv.Itoa(runtime.NumCPU())}
	if len(load) > 0 {
		sum, peak := 0.0, 0.0
		for _, l := range load {
			sum += l
			peak = max(peak, l)
		}
		m["load1 mean"] = fmt.Sprintf("%.2f", sum/float64(len(load)))
		m["load1 max"] = fmt.Sprintf("%.2f", peak)
		m["load1 median"] = fmt.Sprintf("%.2f", median(load))
	}
	if info, err := c.Info(ctx); err == nil {
		m["buildkit"] = info.BuildkitVersion.Version
	}
	if host, err := os.Hostname(); err == nil {
		m["host"] = host
	}
	return m
}
