package rewrite

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// sortDiags sorts diagnostics ("file:line:col: message", or a message
// with no position) by file, then line, then column, as numbers: p.go:36
// before p.go:134. Those without a position come last, in text order.
func sortDiags(diags []string) {
	slices.SortStableFunc(diags, func(a, b string) int {
		fa, la, ca, oka := diagPos(a)
		fb, lb, cb, okb := diagPos(b)
		switch {
		case oka && okb:
			return cmp.Or(cmp.Compare(fa, fb), cmp.Compare(la, lb), cmp.Compare(ca, cb), cmp.Compare(a, b))
		case oka:
			return -1
		case okb:
			return 1
		}
		return cmp.Compare(a, b)
	})
}

// diagPos parses the "file:line:col:" or "file:line:" that starts d.
func diagPos(d string) (file string, line, col int, ok bool) {
	head, _, found := strings.Cut(d, ": ")
	if !found {
		return "", 0, 0, false
	}
	parts := strings.Split(head, ":")
	// the file name may itself hold a colon (a Windows drive): numbers are
	// taken from the end
	nums := []int{}
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	if len(nums) == 0 {
		return "", 0, 0, false
	}
	file = strings.Join(parts, ":")
	line = nums[0]
	if len(nums) == 2 {
		col = nums[1]
	}
	return file, line, col, true
}
