package main

import (
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/analysis/unitchecker"
)

// vetInvocation reports whether the go command is running asyncify as a vet
// tool (go vet -vettool=$(which asyncify)): it asks for the tool's version
// (-V=full) or flags (-flags), then hands it one package as a *.cfg file.
func vetInvocation(args []string) bool {
	for _, a := range args {
		if a == "-V=full" || a == "-flags" {
			return true
		}
	}
	return len(args) > 0 && strings.HasSuffix(args[len(args)-1], ".cfg")
}

// vet runs the iodetect Analyzer under the go command's vet protocol; it
// does not return.
func vet() {
	unitchecker.Main(iodetect.Analyzer)
}
