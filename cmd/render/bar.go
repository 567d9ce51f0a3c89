package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"remotion-lambda-iam/contract/renderapi"
)

const barWidth = 30

// progressBar draws the render's progress: redrawn in place on a terminal,
// a line per whole percent elsewhere (logs, CI).
type progressBar struct {
	w        io.Writer
	terminal bool
	last     int // the last percent written, -1 before the first
	position int // the last place in line written
	drawn    bool
}

func newProgressBar(w io.Writer) *progressBar {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil {
			terminal = info.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progressBar{w: w, terminal: terminal, last: -1}
}

func (b *progressBar) update(p *renderapi.Progress) {
	if p.State == renderapi.StateQueued {
		b.waiting(p.Position)
		return
	}
	percent := int(p.OverallProgress * 100)
	percent = max(0, min(100, percent))
	cost := ""
	if p.Costs != nil {
		cost = p.Costs.DisplayCost
	}
	line := fmt.Sprintf("%3d%%  %d frames  %s", percent, p.FramesRendered, cost)
	if b.terminal {
		filled := percent * barWidth / 100
		fmt.Fprintf(b.w, "\r\033[K%s [%s%s] %s", p.State, strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), line)
		b.drawn = true
		return
	}
	if percent != b.last {
		fmt.Fprintf(b.w, "%s %s\n", p.State, line)
		b.last = percent
	}
}

// waiting shows a render that waits its turn, once per position.
func (b *progressBar) waiting(position int) {
	line := fmt.Sprintf("queued (position %d)", position)
	if b.terminal {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	if position != b.position {
		fmt.Fprintln(b.w, line)
		b.position = position
	}
}

// finish ends the bar's line, so that what follows starts on its own.
func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}
