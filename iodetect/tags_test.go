package iodetect

import (
	"slices"
	"testing"
)

func TestWithTags(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"HOME=/h"}, "GOFLAGS=-tags=all,wire"},
		{[]string{"GOFLAGS=-mod=mod -modfile=/t/go.mod"}, "GOFLAGS=-mod=mod -modfile=/t/go.mod -tags=all,wire"},
		{[]string{"GOFLAGS=-tags=netgo -mod=mod"}, "GOFLAGS=-tags=netgo,all,wire -mod=mod"},
		{[]string{"GOFLAGS=--tags=netgo"}, "GOFLAGS=-tags=netgo,all,wire"},
	} {
		got := WithTags(c.env, []string{"all", "wire"})
		if got[len(got)-1] != c.want {
			t.Errorf("WithTags(%q): last is %q, want %q", c.env, got[len(got)-1], c.want)
		}
		if !slices.Equal(got[:len(c.env)], c.env) {
			t.Errorf("WithTags(%q) changed the entries before it: %q", c.env, got)
		}
	}
	if env := []string{"A=1"}; !slices.Equal(WithTags(env, nil), env) {
		t.Errorf("WithTags with no tags changed env")
	}
}

func TestOwnTag(t *testing.T) {
	for tag, want := range map[string]bool{
		"integration": true, "all": true, "marshal": true,
		"linux": false, "amd64": false, "unix": false, "ignore": false,
		"go1.21": false, "purego": false, "goexperiment.rangefunc": false, "cgo": false,
	} {
		if got := ownTag(tag); got != want {
			t.Errorf("ownTag(%q) = %v, want %v", tag, got, want)
		}
	}
}
