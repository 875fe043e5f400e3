package plan

import "fmt"

func fmtSscan(s string, v *int) (int, error) {
	n, err := fmt.Sscanf(s, "%d", v)
	if err == nil && fmt.Sprint(*v) != s {
		return n, fmt.Errorf("not a number: %q", s)
	}
	return n, err
}
