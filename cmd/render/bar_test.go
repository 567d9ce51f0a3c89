package main

import (
	"bytes"
	"strings"
	"testing"

	"remotion-lambda-iam/contract/renderapi"
)

func TestBarRedrawsInPlaceOnATerminal(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out, terminal: true, last: -1}

	b.update(&renderapi.Progress{State: renderapi.StateRendering, OverallProgress: 0.5, FramesRendered: 20})
	b.update(&renderapi.Progress{State: renderapi.StateDone, OverallProgress: 1, FramesRendered: 40})
	b.finish()

	got := out.String()
	if strings.Count(got, "\r\033[K") != 2 || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("want two redraws of one line, then a newline: %q", got)
	}
	if !strings.Contains(got, "["+strings.Repeat("█", 15)+strings.Repeat("░", 15)+"]  50%") {
		t.Errorf("half-way bar missing: %q", got)
	}
}

func TestBarWritesALinePerPercentElsewhere(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out, last: -1}

	for _, p := range []float64{0, 0.001, 0.5, 0.504, 1} {
		b.update(&renderapi.Progress{State: renderapi.StateRendering, OverallProgress: p})
	}

	if lines := strings.Count(out.String(), "\n"); lines != 3 {
		t.Errorf("%d lines, want 3 (0%%, 50%%, 100%%):\n%s", lines, out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage returns in non-terminal output")
	}
}

// A render that waits its turn shows its place in line, then the bar.
func TestBarSaysWhereARenderWaits(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out, last: -1}

	b.update(&renderapi.Progress{State: renderapi.StateQueued, Position: 2})
	b.update(&renderapi.Progress{State: renderapi.StateQueued, Position: 2})
	b.update(&renderapi.Progress{State: renderapi.StateQueued, Position: 1})
	b.update(&renderapi.Progress{State: renderapi.StateRendering, OverallProgress: 0.1})

	if got, want := out.String(), "queued (position 2)\nqueued (position 1)\nrendering  10%  0 frames  \n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
