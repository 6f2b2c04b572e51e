package rewrite

import (
	"bufio"
	"bytes"
	"fmt"
	"go/token"
	"os"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// ConfigFile is the configuration's default name: in the output directory
// with -o, in the current directory otherwise.
const ConfigFile = iodetect.ConfigFile

// ReadConfig reads a configuration file: one rule a line, "#" starts a
// comment, fields are separated by spaces.
//
//	sync     FUNC            leave FUNC sync: it never becomes async, nor makes its callers async
//	async    FUNC            make FUNC async (and so its callers), I/O or not
//	mode     FUNC pipelined  FUNC's operation may share a connection with others
//	mode     FUNC exclusive  FUNC's operation holds its connection alone
//	conn     TYPE            values of TYPE are client connections (PATH.Name, or Name for the package's own)
//	conn     FUNC.PARAM      the parameter PARAM of FUNC is a client connection
//	blocking CALLEE KIND     calls to CALLEE (another package's function, by full name:
//	                         example.com/x.Recv, (*example.com/x.Port).Recv) are sites of
//	                         KIND: read, write, flush, dial, deadline (they make their function
//	                         async), or sleep, file, exec, dns (reported only)
//	share    FUNC            the dials in FUNC share physical connections across calls (by
//	                         default only the dials of one receiver do; a function's, never),
//	                         even where the detector has no evidence that sharing is safe
//	noshare  FUNC            the dials in FUNC never share physical connections
//
// FUNC names a function as asyncify detect does: F, (*T).M, T.M. name is
// how positions name the file ("asyncify.conf:3").
func ReadConfig(name string, src []byte) (*iodetect.Overrides, error) {
	ov := &iodetect.Overrides{}
	var errs []Diag
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pos := fmt.Sprintf("%s:%d", name, n)
		bad := func(format string, args ...any) {
			errs = append(errs, diagf(token.Position{Filename: name, Line: n}, format, args...))
		}
		r := &iodetect.Rule{Pos: pos, Verb: f[0]}
		want := 2
		switch f[0] {
		case iodetect.RuleSync, iodetect.RuleAsync, iodetect.RuleConn, iodetect.RuleShare, iodetect.RuleNoShare:
		case iodetect.RuleMode:
			want = 3
			if len(f) == 3 {
				r.Mode = iodetect.Mode(f[2])
				if r.Mode != iodetect.Pipelined && r.Mode != iodetect.Exclusive {
					bad("mode %s: want pipelined or exclusive", f[2])
					continue
				}
			}
		case iodetect.RuleBlocking:
			want = 3
			if len(f) == 3 {
				r.Kind = iodetect.Kind(f[2])
				switch r.Kind {
				case iodetect.KindRead, iodetect.KindWrite, iodetect.KindFlush, iodetect.KindDial, iodetect.KindDeadline,
					iodetect.KindSleep, iodetect.KindFile, iodetect.KindExec, iodetect.KindDNS:
				default:
					bad("blocking kind %s: want read, write, flush, dial, deadline, sleep, file, exec or dns", f[2])
					continue
				}
			}
		default:
			bad("unknown rule %q: want sync, async, mode, conn, blocking, share or noshare", f[0])
			continue
		}
		if len(f) != want {
			bad("%s takes %d fields, got %d", f[0], want-1, len(f)-1)
			continue
		}
		r.Name = f[1]
		ov.Rules = append(ov.Rules, r)
	}
	if len(errs) > 0 {
		return nil, &Error{Errs: errs}
	}
	return ov, nil
}

// LoadConfig reads the configuration file at path; a missing file is no
// configuration unless required (named by -config).
func LoadConfig(path, display string, required bool) (ov *iodetect.Overrides, src []byte, err error) {
	src, err = os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) && !required {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	ov, err = ReadConfig(display, src)
	return ov, src, err
}

// UnmatchedRules are the messages for the rules that applied to nothing.
func UnmatchedRules(ov *iodetect.Overrides) []string {
	var out []string
	for _, r := range ov.Unmatched() {
		out = append(out, fmt.Sprintf("%s: %s %s matched nothing (renamed or removed upstream?)", r.Pos, r.Verb, r.Name))
	}
	return out
}
