package orchestrator

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// What is kept of ssh's stderr is bounded, and an error shows its last whole lines.
func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{limit: 64}
	for i := range 100 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if len(b.buf) > 64 {
		t.Errorf("keeps %d bytes, want at most 64", len(b.buf))
	}
	if got := b.lastLines(3); got != "line 97\nline 98\nline 99" {
		t.Errorf("last 3 lines: %q", got)
	}
	for _, l := range strings.Split(b.lastLines(100), "\n") {
		if !regexp.MustCompile(`^line \d+$`).MatchString(l) {
			t.Errorf("line %q was cut off by the limit", l)
		}
	}

	short := &tailBuffer{limit: 64}
	fmt.Fprint(short, "\nroot@127.0.0.1: Permission denied (publickey).\r\n\n")
	if got := short.lastLines(5); got != "root@127.0.0.1: Permission denied (publickey)." {
		t.Errorf("one line: %q", got)
	}
	if got := (&tailBuffer{limit: 64}).lastLines(5); got != "" {
		t.Errorf("nothing written: %q", got)
	}
}
