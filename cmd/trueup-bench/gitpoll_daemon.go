package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const pollMetric = "trueup_git_poll_duration_seconds"

// histogram is a scrape of a Prometheus histogram: cumulative bucket counts by upper bound.
type histogram struct {
	buckets map[float64]float64
	sum     float64
	count   float64
}

// parseHistogram reads name's buckets, sum and count from the text exposition format.
func parseHistogram(text, name string) (histogram, error) {
	h := histogram{buckets: map[float64]float64{}}
	found := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case key == name+"_sum":
			h.sum, found = v, true
		case key == name+"_count":
			h.count = v
		case strings.HasPrefix(key, name+`_bucket{le="`):
			le := strings.TrimSuffix(strings.TrimPrefix(key, name+`_bucket{le="`), `"}`)
			bound := math.Inf(1)
			if le != "+Inf" {
				if bound, err = strconv.ParseFloat(le, 64); err != nil {
					continue
				}
			}
			h.buckets[bound] = v
		}
	}
	if !found {
		return h, fmt.Errorf("metric %s not found", name)
	}
	return h, nil
}

// minus is the histogram of the observations between two scrapes.
func (h histogram) minus(old histogram) histogram {
	out := histogram{buckets: map[float64]float64{}, sum: h.sum - old.sum, count: h.count - old.count}
	for b, c := range h.buckets {
		out.buckets[b] = c - old.buckets[b]
	}
	return out
}

// quantile estimates a quantile as Prometheus' histogram_quantile does (linear within a bucket).
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	bounds := make([]float64, 0, len(h.buckets))
	for b := range h.buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	rank := q * h.count
	prevBound, prevCount := 0.0, 0.0
	for _, b := range bounds {
		c := h.buckets[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}

// pollFromOutside runs the daemon with a 100ms poll interval on the repository and measures polls
// through its metrics and logs: a window of no-op polls, then single pushed commits.
func pollFromOutside(ctx context.Context, e *env, repo *gitRepo, reps int) (map[string]any, error) {
	d, err := e.startDaemon(ctx, "gitpoll/daemon", daemonConfig{RepoURL: repo.URL(), Workers: 2, PollInterval: 100 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer d.stop()
	scrape := func() (histogram, error) {
		text, err := d.metrics(ctx)
		if err != nil {
			return histogram{}, err
		}
		return parseHistogram(text, pollMetric)
	}
	// The first poll clones; wait until polls are steady.
	err = waitFor(ctx, "the daemon's first polls", 2*time.Minute, 100*time.Millisecond, func() (bool, error) {
		h, err := scrape()
		return err == nil && h.count >= 5, nil
	})
	if err != nil {
		return nil, err
	}
	mirror := filepath.Join(d.dataDir, "mirror.git")
	h0, err := scrape()
	if err != nil {
		return nil, err
	}
	objects0, err := countObjectFiles(mirror)
	if err != nil {
		return nil, err
	}
	w0 := time.Now()
	time.Sleep(5 * time.Second)
	h1, err := scrape()
	if err != nil {
		return nil, err
	}
	objects1, err := countObjectFiles(mirror)
	if err != nil {
		return nil, err
	}
	noop := h1.minus(h0)
	noopMean := noop.sum / noop.count
	out := map[string]any{
		"noop_polls":                    noop.count,
		"noop_ms_mean":                  round(noopMean*1000, 1),
		"noop_ms_median_estimate":       round(noop.quantile(0.5)*1000, 1),
		"noop_ms_p90_estimate":          round(noop.quantile(0.9)*1000, 1),
		"noop_fetches":                  d.logs.count("fetched", w0),
		"object_files_before_and_after": []int{objects0, objects1},
	}

	// One commit at a time: the poll after the push fetches it.
	var fetchLog, pollEstimate []float64
	for i := range reps {
		before, err := scrape()
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		rev, err := repo.commitAndPush(fmt.Sprintf("daemon poll %d", i), map[string]string{"docs/d001/f0050.md": fmt.Sprintf("daemon %d\n", i)})
		if err != nil {
			return nil, err
		}
		var fetched logEntry
		err = waitFor(ctx, "the daemon to fetch "+rev[:7], time.Minute, 20*time.Millisecond, func() (bool, error) {
			f := d.logs.find("fetched", t0)
			if len(f) > 0 {
				fetched = f[0]
			}
			return len(f) > 0, nil
		})
		if err != nil {
			return nil, err
		}
		time.Sleep(300 * time.Millisecond)
		after, err := scrape()
		if err != nil {
			return nil, err
		}
		delta := after.minus(before)
		// The window's polls are no-ops but one: take the no-ops' mean out of the sum.
		est := delta.sum - (delta.count-1)*noopMean
		pollEstimate = append(pollEstimate, round(est*1000, 1))
		fetchLog = append(fetchLog, ms(fetched.duration("duration")))
	}
	out["one_commit_fetch_ms_from_log"] = fetchLog
	out["one_commit_poll_ms_estimate"] = pollEstimate
	out["one_commit_poll_ms_estimate_median"] = median(pollEstimate)
	return out, nil
}
