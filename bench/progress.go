package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressWidth is the number of cells of the progress bar.
const progressWidth = 30

// progress draws a one-line progress bar, redrawn in place with '\r'.
// It is used by Run's goroutine only.
type progress struct {
	w     io.Writer
	total int
	done  int
	start time.Time
}

// newProgress returns a bar of total steps drawing to w (nil draws nothing).
func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: max(total, 1), start: time.Now()}
}

// line returns the bar's text for the current step.
func (p *progress) line(label string) string {
	filled := p.done * progressWidth / p.total
	return fmt.Sprintf("\r[%s%s] %3d/%d %-40.40s %6s", strings.Repeat("#", filled),
		strings.Repeat(".", progressWidth-filled), p.done, p.total, label,
		time.Since(p.start).Round(time.Second))
}

// step draws the bar with label before a step starts.
func (p *progress) step(label string) {
	if p.w != nil {
		fmt.Fprint(p.w, p.line(label))
	}
}

// finish counts one step done.
func (p *progress) finish() { p.done = min(p.done+1, p.total) }

// end draws the full bar and ends the line.
func (p *progress) end() {
	if p.w != nil {
		fmt.Fprintln(p.w, p.line("done"))
	}
}
