// Package rewrite converts a synchronous network client package into a
// context-aware one, and describes the change as a unified diff.
//
// Convert loads one package (with its tests) through iodetect, plans what
// changes, rewrites the syntax with github.com/dave/dst so that comments and
// layout survive, type-checks the result, and returns the old and new
// contents of every file it changed or added. Nothing is returned when the
// result does not type-check.
//
// The files, in the order a conversion runs through them:
//
//   - convert.go: Convert and its orchestration: load (through iodetect),
//     check, plan, rewrite every package, verify, return the files.
//   - diag.go: Diag, a diagnostic as a value (a position and a message),
//     for notes (Result.Notes) and refusals (Error.Errs), sorted by file,
//     line and column.
//   - validate.go: checks of the input that refuse it (cgo, a Go version
//     too old) or say what is left alone, before anything is rewritten.
//   - config.go: asyncify.conf, the user's sync/async/share rules.
//   - plan.go: which functions gain a ctx parameter, which keep their
//     signature (tests, main, init, examples, functions that would not use
//     it) and which keep it and gain FContext beside it (exported API,
//     methods whose signature an interface fixes), where each function's
//     ctx comes from, the name it takes (ctx, or ctx1... when ctx is
//     already in scope), and the names of the forms (FContext, or
//     FWithContext when the package declares FContext for something else,
//     noted).
//   - siteplan.go: the ctx in effect at each call and function value
//     (a function literal's own: a test's, a request's, a reader's or a
//     stored literal's context.Background(), a slot literal's parameter),
//     each call site's fate (converted under a ctx, or left as it is and
//     why: a fixed ctx, no context form...), where each function's watch
//     goes, and the I/O no watch interrupts (noted).
//   - waitplan.go: the fate of each reply wait (a select, hoisted into
//     one, a ctx case, condWait, cut off first, or left and why) and the
//     private destination of a function whose reader writes into memory
//     its caller passed.
//   - shareplan.go: whether the package shares its connections
//     (ShareDecision), and which dials become shareConn.
//   - planvalue.go: the Plan, what planning decided as one exported value
//     (explain -json), and planAsync, which names each future form.
//
// Planning decides before any edit, with the notes that report its
// decisions; the rules apply what it decided and read none of iodetect's
// sites.
//   - ifaces.go: the package's interfaces with async methods. An
//     unexported one implemented only by the package's own types changes
//     with its implementations (ctx first on the interface and on every
//     implementation); any other keeps its methods and gains a companion
//     IfaceContext holding its implementations' Context forms, and the
//     package's calls through it go through a helper that uses the form
//     when the dynamic value has it. Dials through a dialer interface use
//     DialContext the same way.
//   - rewrite.go: the driver that applies the rules below to every
//     declaration, walking each body with the ctx planned at each call.
//
// The rules, one file each:
//
//   - calls.go: calls to async functions pass ctx; function values that
//     refer to them (method values, method expressions, function names)
//     become closures capturing ctx, so that the callee's func type does
//     not change; function literals capture the enclosing ctx. A value
//     stored to be called later (or handed to a call that keeps it, such
//     as a pool's dial function) uses context.Background(), noted, in
//     tests too when a call keeps it.
//   - slots.go: an unexported func-typed field or package-level variable
//     that holds a function taking ctx takes ctx first instead, unless its
//     value is used where its type cannot change: calls through it pass
//     the caller's ctx.
//   - wrappers.go: an exported async function F keeps its signature as a
//     wrapper calling FContext(context.Background(), ...), and FContext,
//     its renamed body, takes ctx. FContext's error result is mapped to
//     ctx.Err() when ctx ended first and the error was caused by it: by
//     runOp when the operation runs under it (share.go), else by the
//     runtime's ctxErr, deferred; when that needs names for results
//     upstream left unnamed, the body becomes fContext and FContext, with
//     upstream's results, calls it (makeBodyCall): the API shows
//     upstream's signature with ctx first.
//   - async.go: FAsync(ctx, ...) *Future[T] starts FContext on a runtime
//     goroutine (templates' startOp), or, for an operation on a shared
//     connection, runs it on the caller up to its first read, its request
//     committed (templates' startSplit); the runtime is emitted with it. It
//     is FFuture when the package declares FAsync already (noted).
//   - blocking.go: dials become context dials, client deadlines are
//     bounded by ctx's (ctxDeadline), time.Sleep becomes the runtime's
//     sleep, which ends with ctx,
//     exec.Command becomes exec.CommandContext, net.LookupXxx becomes
//     net.DefaultResolver.LookupXxx(ctx, ...) (net.ResolveXxxAddr, with no
//     context form, is reported).
//   - watch.go: an exchange on a connection that the function holds runs
//     under a watch (the runtime's watchConn), where planWatch placed it,
//     that interrupts it when ctx ends.
//   - share.go: shared (pipelined) connections, as shareplan.go decided.
//     When the package's dials
//     return net.Conn, iodetect has no evidence against sharing
//     (evidence.go; or a share rule overrides it; a noshare rule keeps a
//     dial plain) and no connection reaches code that may read ahead of a
//     reply, dials become shareConn (handles on shared pipelined
//     connections), bufio readers around them shareReader, watches
//     bindConn, and FContext runs its body, renamed fContext, as a runtime
//     operation in the mode iodetect decided (templates/conn.go;
//     docs/runtime.md, "Shared connections").
//   - textpipeline.go: textproto.Pipeline's Next, StartRequest... go
//     through the runtime's seqNext, seqStartRequest..., which record each
//     id's progress; an exported operation
//     reaching them completes what its ids were left without when it
//     returns (no stall), and runs detached when ctx can end, so its caller
//     can leave while the exchange completes (connections without
//     deadlines).
//   - replywait.go: waits for a reply that the client's own reader
//     goroutine delivers (iodetect's reply waits) end with ctx, as
//     waitplan.go decided: a receive becomes a select on ctx.Done()
//     returning ctx.Err(), a Cond wait the runtime's condWait; the reader
//     gets a private destination for a caller's reply (replyPrivate), is
//     started with context.Background(), and no ctx deadline or watch
//     touches the connection it reads.
//   - internal.go: the internal packages of the client's module that it
//     imports (a copy elsewhere cannot) are copied along by -o under the
//     output's internal/ directory, with imports rewritten; those doing
//     socket I/O are converted with the client, signatures changed in place
//     (with -d and -w too, unless other code uses them); test-only helpers
//     that import the client are checked against the converted one.
//   - vendor.go: a vendored package's tests, which go mod vendor drops,
//     come from the module cache copy of the exact vendored version
//     (downloaded through the module proxy when missing) as an overlay, with
//     a note saying so; without it, the package converts without tests and a
//     warning. When those tests import what vendor/ does not hold, -o
//     converts the identical module cache copy instead.
//
// Helpers of the rules:
//
//   - runtime.go: the runtime (templates/) as the rules call it: rt gives
//     the name a canonical runtime name has in the converted package and
//     records its use; the package then gets the part of the runtime those
//     names reach (templates.Emit), its exported API too when it uses
//     futures or shared connections. A converted internal package gets its
//     own.
//   - typeexpr.go: types spelled for the package being rewritten.
//   - tokens.go: short names for the go/token kinds the rules build.
//   - header.go: the generated-code header of a converted file.
//
// After the rewrite:
//
//   - verify.go: the type check of the result, errors at input positions.
//   - diff.go: the unified diff (asyncify -d).
//   - output.go: the package written to a directory of its own (asyncify
//     -o), all or nothing, with the folders its tests read (testdata/).
//   - record.go: the record of the input and options beside -o's output,
//     which -check reads.
//
// Files that an earlier run generated (asyncify_*.go with the header) are
// never converted, and a converted package converts to itself. A rerun with
// -w over a converted package that changes which runtime files it needs
// leaves the files it no longer needs in place (-o removes them).
//
// Not done: reads and writes on a connection that no struct field holds
// with its deadlines (a bufio wrapper, an io.ReadWriteCloser, locals and
// parameters) are not interrupted, only their dials follow ctx; func types
// of stored callbacks other than unexported fields and variables
// (returned, sent on a channel, exported: they keep their types and call
// with context.Background(), and a function that only stores such values
// keeps its signature); generic interfaces. Calls left without a
// cancellable ctx are reported as notes.
package rewrite
