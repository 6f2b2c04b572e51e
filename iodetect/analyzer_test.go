package iodetect_test

import (
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), iodetect.Analyzer, "client", "udpclient", "rpcshape", "replywait")
}
