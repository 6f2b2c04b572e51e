// Package iodetect finds the places where a synchronous network client blocks,
// and works out which of its functions must become context-aware.
//
// The facts it computes, in the vocabulary of asyncify's design:
//
//   - Connection roots: dial results (net.Dial*, net.Dialer, tls.Dial, calls
//     through func-typed fields, parameters or variables shaped like a dial
//     function), datagram sockets (net.ListenPacket, net.ListenUDP: nothing
//     is accepted on them), and the connection-typed parameters and fields
//     such values flow into. An exported function's parameter of type
//     net.Conn, io.ReadWriteCloser or io.ReadWriter is a root too: the
//     package's user hands it a connection. Connections returned by a
//     listener's Accept are server side: their sites are reported, marked as
//     such, and never make a function async; a site that an accepted
//     connection may reach is server side whatever else reaches it.
//   - Conn-derived values: roots and anything wrapping one (bufio, textproto,
//     tls.Client, io.LimitReader, ...), followed through locals, struct
//     fields, parameters, results, composite literals, containers, channels
//     and function values. The analysis is flow-insensitive: a variable that
//     ever holds a conn-derived value is conn-derived everywhere.
//   - Sites: calls that read, write, flush, dial, set a deadline on, close, or
//     sequence (textproto.Pipeline) a conn-derived value, directly or by handing
//     it to a function such as io.ReadFull, fmt.Fprintf or binary.Read; and the
//     other blocking calls (time.Sleep, file I/O, os/exec, DNS lookups, cgo).
//   - Reply waits (replywait.go, readers.go, chansafety.go,
//     callermem.go): in a client whose reader goroutine routes replies to
//     callers, a receive on a channel it fills or a sync.Cond wait on what
//     it signals; they seed the async set like socket I/O when the wait
//     can end early (a reply left behind cannot block the reader, or the
//     exchange can be cut off) where it is (a function with an error
//     result). A reader's go statement is no call-graph edge.
//   - Detached goroutines (detached.go): a go statement whose goroutine
//     delivers nothing (no send, close, WaitGroup.Done, Cond signal)
//     outlives the call that starts it: no call-graph edge, and the
//     rewrite starts it with context.Background().
//   - Sides: a connection is the client's (dialled here, or handed to the
//     package) or the server's (from a listener's Accept). In a package
//     that calls Accept, code that accepted connections reach is the
//     server's unless a connection the package dials itself reaches it too
//     (Dialed: code client and server share).
//   - The call graph: static calls, calls through function values, method
//     values and expressions, closures, func-typed parameters and fields, and
//     methods of interfaces declared in the package (every implementation in
//     the package). Referring to a function as a value counts as calling it:
//     the referring function hands the callee to someone who will.
//   - The async set: the fixpoint of "contains a client socket site, or calls
//     an async function", with one shortest chain per function explaining why.
//     Only socket I/O and reply waits seed the set: other blocking calls never make a
//     function async by themselves.
//
// Analyze computes these facts for one type-checked package; Load runs it over
// packages matched by patterns; Analyzer exposes the sites to go vet and other
// drivers of golang.org/x/tools/go/analysis.
//
// The files, one concept each: facts.go (the types of the facts: Kind, Side,
// Site, Root, ...), analyze.go (Analyze, the functions and literals it
// walks), values.go (value flow), roots.go, sites.go (sites and the call
// graph), readers.go (reader goroutines and forwarders), replywait.go
// (what they deliver, and the waits for it), chansafety.go (whether a
// reply left behind can block the reader; what a cut-off closes),
// callermem.go (memory the reader writes for a caller), detached.go
// (goroutines nobody waits for), asyncset.go (the
// fixpoint), result.go (the Package value),
// shape.go (whether an operation can share a connection: its mode),
// evidence.go (whether the package's connections may be shared at all:
// uses that are not a request/response exchange inside one operation),
// stdlib.go (what the standard library's calls do), overrides.go (the
// user's sync/async rules), load.go (go/packages loading, with a copy of go.mod and go.sum), tags.go
// (the build tags of the package's own that bring its other files in), report.go
// (detect's text and JSON), analyzer.go (the go/analysis Analyzer).
package iodetect
