package main

import (
	"errors"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/rewrite"
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

// vet runs the iodetect Analyzer under the go command's vet protocol, with
// the configuration (-iodetect.config FILE, else asyncify.conf in each
// package's directory); it does not return.
func vet() {
	unitchecker.Main(iodetect.NewAnalyzer(func(path string, required bool) (*iodetect.Overrides, error) {
		ov, _, err := rewrite.LoadConfig(path, path, required)
		var re *rewrite.Error
		if errors.As(err, &re) {
			return nil, errors.New(re.Error())
		}
		return ov, err
	}))
}
