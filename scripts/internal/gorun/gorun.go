// Package gorun holds what the scripts under scripts/ share: building
// asyncify from the committed HEAD, running the go command, the
// environment of a temporary module and rewriting the generated part of a
// document.
package gorun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ExportHEAD writes the committed HEAD of the repository in the current
// directory into dir and returns its commit hash.
func ExportHEAD(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "sh", "-c", `git archive HEAD | tar -x -C "$1"`, "sh", dir)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildHEAD exports the committed HEAD into tmp/src and builds
// asyncify from it as tmp/asyncify; it returns the binary, the source
// tree and the commit, so that figures belong to one commit.
func BuildHEAD(ctx context.Context, tmp string) (bin, src, commit string, err error) {
	src = filepath.Join(tmp, "src")
	if commit, err = ExportHEAD(ctx, src); err != nil {
		return "", "", "", err
	}
	bin = filepath.Join(tmp, "asyncify")
	if _, err := Go(ctx, src, os.Environ(), "build", "-o", bin, "./cmd/asyncify"); err != nil {
		return "", "", "", err
	}
	return bin, src, commit, nil
}

// Go runs the go command in dir with env and returns its stdout.
func Go(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// ModuleEnv is the environment of a temporary module: outside the
// repository's workspace, and free to record the go.sum lines it needs
// (fetched through GOPROXY, like any go command).
func ModuleEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
}

// WriteDoc replaces what follows marker in file with generated, keeping
// the text above it; a file without the marker keeps all its text above
// it, a missing one gets intro.
func WriteDoc(file, marker, intro, generated string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if i := bytes.Index(old, []byte(marker)); i >= 0 {
		intro = string(old[:i])
	} else if len(old) > 0 {
		intro = string(old) + "\n"
	}
	return os.WriteFile(file, []byte(intro+marker+"\n\n"+generated), 0o644)
}

// FirstLine is the first line of s, trimmed.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
