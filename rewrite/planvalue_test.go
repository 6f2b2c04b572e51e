package rewrite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestPlanSites checks that the plan says each site's fate as planning
// decided it: the reply waits' (a select, a cut-off, a wait left with the
// note's reason) and the calls'.
func TestPlanSites(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string // "pos kind action[: why][ cut conn]", in order
	}{
		{"replycut", []string{"p.go:36:28 read ctx", "p.go:67:19 reply-wait ctx case cut c.conn", "p.go:76:27 write ctx"}},
		{"replywait", []string{
			"p.go:19:21 dial ctx", "p.go:32:28 read ctx",
			"p.go:50:23 deadline left: a reader goroutine reads the connection for every caller: ctx bounds the waits for replies, not the connection",
			"p.go:51:13 write ctx", "p.go:52:21 flush ctx",
			"p.go:55:10 reply-wait select", "p.go:61:19 reply-wait ctx case",
			"p.go:72:9 reply-wait left: a reply for a caller who left would block the reader: the channel made at p.go:23:80 is unbuffered and the reader's send does not select on a done channel",
			"p.go:76:7 reply-wait left: the function has no error result to return ctx.Err() in",
		}},
		{"replyctx", []string{"p.go:30:28 read ctx", "p.go:47:14 reply-wait condWait"}},
		{"replymem", []string{"p.go:36:20 read ctx", "p.go:50:24 write ctx", "p.go:53:9 reply-wait hoisted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar, err := txtar.ParseFile(filepath.Join("testdata", tc.name+".txtar"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range ar.Files {
				if !strings.HasPrefix(f.Name, "want.") {
					writeFile(t, filepath.Join(dir, f.Name), f.Data)
				}
			}
			res, err := convertIn(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range res.Plan.Sites {
				line := fmt.Sprintf("%s %s %s", s.Pos, s.Kind, s.Action)
				if s.Why != "" {
					line += ": " + strings.ReplaceAll(s.Why, dir+string(filepath.Separator), "")
				}
				if s.Cut != "" {
					line += " cut " + s.Cut
				}
				got = append(got, line)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("sites:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
