package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// isTerminal reports whether w is a terminal (a character device; no
// dependency is needed for that).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor decides -color: "always", "never", or "auto" (colour when
// stdout is a terminal, NO_COLOR is unset and TERM is not dumb).
func useColor(mode string, stdout io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		return isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb", nil
	}
	return false, fmt.Errorf("-color=%s: want auto, always or never", mode)
}

// ANSI SGR sequences.
const (
	sgrReset = "\x1b[m"
	sgrBold  = "\x1b[1m"
	sgrRed   = "\x1b[31m"
	sgrGreen = "\x1b[32m"
	sgrCyan  = "\x1b[36m"
)

// colorDiff colours a unified diff as git does: file headers bold, hunk
// headers cyan, removed lines red, added lines green.
func colorDiff(diff string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(diff, "\n") {
		if line == "" {
			continue
		}
		text, nl := strings.CutSuffix(line, "\n")
		color := ""
		switch {
		case strings.HasPrefix(text, "--- ") || strings.HasPrefix(text, "+++ "):
			color = sgrBold
		case strings.HasPrefix(text, "@@"):
			color = sgrCyan
		case strings.HasPrefix(text, "-"):
			color = sgrRed
		case strings.HasPrefix(text, "+"):
			color = sgrGreen
		}
		if color != "" {
			text = color + text + sgrReset
		}
		b.WriteString(text)
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// progress is the line asyncify keeps on stderr, when stderr is a
// terminal, while it loads and converts a package: the step and the time
// it has taken so far, redrawn in place and erased at the end.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	step  string
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// progressEnabled decides whether to show progress: on a terminal, or as
// ASYNCIFY_PROGRESS says (always, never).
func progressEnabled(stderr io.Writer) bool {
	switch os.Getenv("ASYNCIFY_PROGRESS") {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(stderr)
}

// startProgress starts the line; nil (whose methods do nothing) when
// disabled.
func startProgress(w io.Writer, enabled bool) *progress {
	if !enabled {
		return nil
	}
	p := &progress{w: w, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

// set names the current step.
func (p *progress) set(step string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.step = step
	p.mu.Unlock()
	p.draw()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\x1b[Kasyncify: %s (%.1fs)", p.step, time.Since(p.start).Seconds())
}

// end erases the line; the command's own output follows.
func (p *progress) end() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	fmt.Fprint(p.w, "\r\x1b[K")
}
