package templates

import (
	"log"
	"os"
	"strings"
	"time"
)

// slowThreshold is the slow-operation log threshold set by
// ASYNCIFY_DEBUG=slow=DURATION (0: off). ASYNCIFY_DEBUG holds
// comma-separated settings, like GODEBUG.
var slowThreshold = parseDebugSlow(os.Getenv("ASYNCIFY_DEBUG"))

// logSlow prints a slow operation; tests replace it.
var logSlow = func(name string, d time.Duration) {
	log.Printf("asyncify: slow operation %s took %v (ASYNCIFY_DEBUG slow=%v)", name, d, slowThreshold)
}

func parseDebugSlow(s string) time.Duration {
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k != "slow" {
			continue
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

func logIfSlow(name string, start time.Time) {
	if d := time.Since(start); d >= slowThreshold {
		logSlow(name, d)
	}
}
