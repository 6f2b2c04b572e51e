package rewrite

import "go/token"

const (
	intLit    = token.INT
	stringLit = token.STRING
	typeTok   = token.TYPE
	varTok    = token.VAR
	assignTok = token.ASSIGN
	defineTok = token.DEFINE
)
