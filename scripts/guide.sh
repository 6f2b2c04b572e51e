#!/usr/bin/env bash
# Reruns every step of docs/guide.md in a scratch directory and keeps each command with its output
# (stdout and stderr) and exit status in WORK/out/NN.txt, for refreshing the guide's excerpts.
# It regenerates nothing in the repository: docs/guide.md is edited by hand from WORK/out. Each
# NN.txt starts with the "$ command" line and ends with "[exit N]", so a count of output lines
# quoted in the guide is the file's line count minus 2 (and minus stderr's lines, for 07.txt).
#
#	scripts/guide.sh [WORK]     # WORK defaults to /tmp/guide; it is emptied first
#
# Needs the module proxy and a memcached on 127.0.0.1:11211; as root, a memcache user for the
# wrapper that upstream's TestUnixSocket and TestTLS start.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${1:-/tmp/guide}
OLD=v0.0.0-20230905024940-24af94b03874
NEW=v0.0.0-20260422231931-4d751bb6e37c
PKG=github.com/bradfitz/gomemcache/memcache

rm -rf "$WORK"
mkdir -p "$WORK/out" "$WORK/bin" "$WORK/mc" "$WORK/app"
export GOBIN=$WORK/bin PATH=$WORK/bin:$PATH
if [ "$(id -u)" = 0 ]; then
	printf '#!/bin/sh\nexec %s -u memcache "$@"\n' "$(command -v memcached)" >"$WORK/mc/memcached"
	chmod +x "$WORK/mc/memcached"
fi
MCPATH=$WORK/mc

n=0
step() {
	n=$((n + 1))
	local f
	f=$(printf '%s/out/%02d.txt' "$WORK" "$n")
	{
		echo "\$ $*"
		eval "$@" 2>&1
		echo "[exit $?]"
	} >"$f"
}

cd "$ROOT" && step go install ./cmd/asyncify
step asyncify version
cd "$WORK/app"
step go mod init example.com/app
step go get github.com/bradfitz/gomemcache@$OLD
step asyncify detect $PKG
step asyncify explain $PKG '"(*Client).Get"'
step asyncify -o ./internal/memcache $PKG
step ls internal/memcache
step go vet ./internal/memcache
step PATH=$MCPATH:\$PATH go test ./internal/memcache
cat >main.go <<'EOF'
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"example.com/app/internal/memcache"
)

func main() {
	mc := memcache.New("127.0.0.1:11211")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	// The Context forms: ctx bounds the call.
	if err := mc.SetContext(ctx, &memcache.Item{Key: "greeting", Value: []byte("hello")}); err != nil {
		log.Fatal(err)
	}
	it, err := mc.GetContext(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("GetContext: %s\n", it.Value)

	// The Async forms: start the calls, then wait for each result.
	hit := mc.GetAsync(ctx, "greeting")
	miss := mc.GetAsync(ctx, "no-such-key")
	if it, err := hit.Await(ctx); err == nil {
		fmt.Printf("GetAsync: %s\n", it.Value)
	}
	if _, err := miss.Await(ctx); err == memcache.ErrCacheMiss {
		fmt.Println("GetAsync of a missing key: memcache.ErrCacheMiss, unwrapped")
	}

	// A ctx that has already ended: the call returns its error.
	done, stop := context.WithCancel(ctx)
	stop()
	_, err = mc.GetContext(done, "greeting")
	fmt.Printf("GetContext with a cancelled ctx: %v (errors.Is context.Canceled: %t)\n", err, errors.Is(err, context.Canceled))

	// The old API still works.
	if it, err := mc.Get("greeting"); err == nil {
		fmt.Printf("Get: %s\n", it.Value)
	}
}
EOF
step go mod tidy
step go run .
step asyncify -check -o ./internal/memcache $PKG
step asyncify -o ./internal/memcache $PKG
# The hand edit of step 7 and its undo, with the guide's commands.
step "sed -i 's|^func (ss \*ServerList) PickServer|// PickServer is fast.\n&|' internal/memcache/selector.go"
step asyncify -check -o ./internal/memcache $PKG
step "sed -i '/^\/\/ PickServer is fast\.$/d' internal/memcache/selector.go"
step asyncify -check -o ./internal/memcache $PKG
printf 'package memcache\n\n//go:generate asyncify -o . %s\n' $PKG >internal/memcache/generate.go
step go mod tidy
step grep gomemcache go.mod
step go get github.com/bradfitz/gomemcache@$NEW
step asyncify -check -o ./internal/memcache $PKG
step go generate ./internal/memcache
step go vet ./internal/memcache
step PATH=$MCPATH:\$PATH go test ./internal/memcache
step go run .
step asyncify -check -o ./internal/memcache $PKG
grep -H '^\[exit' "$WORK"/out/*.txt
echo "outputs in $WORK/out (nothing in the repository was changed); paste the excerpts into docs/guide.md by hand"
