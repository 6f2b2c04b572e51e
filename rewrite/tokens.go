package rewrite

import "go/token"

const (
	intLit    = token.INT
	stringLit = token.STRING
)
