// Package templates is the runtime that asyncify writes into converted
// packages: the ties of a client's own I/O to ctx, futures, a context-aware
// buffered stream per exchange, and the pipelined connection that many
// goroutines share. It is ordinary Go, compiled and tested here, standard
// library only. Emit returns its files for a target package (package clause
// changed, generated-code header first, names that clash with the target's
// renamed), keeping only what the names the package uses reach; this file,
// emit.go and the tests are not emitted.
//
// The runtime's names below are canonical: call them by names[canonical],
// the map Emit (or Names) returns, and pass the names used to Emit as keep.
// Only Future, ErrMaybeExecuted and AsyncifyPipelining are exported; the
// rest stays out of the converted package's API.
//
// The files, by idea:
//
//   - ctx.go: a client's own I/O tied to ctx, in every converted package
//     that needs it: watchConn (ctx's end interrupts an exchange on a
//     connection), ctxEnded and ctxErr, its deferred form (the error an
//     operation returns when ctx ended), ctxDeadline (a client's deadline
//     bounded by ctx's), sleep (time.Sleep that ends with ctx).
//   - reply.go: waits for a reply a client's own reader goroutine delivers:
//     condWait (a sync.Cond wait that ctx ends), replyPrivate (a private
//     destination for a reply the caller may stop waiting for).
//   - sequence.go: textproto.Pipeline's calls recorded per operation
//     (seqNext, seqStartRequest...; sequenced completes what a failed
//     operation left), and detach (a body that finishes without its
//     caller).
//   - future.go, op.go, debug.go: operations as futures (Future, runOp,
//     startOp, runOpOn) and the slow-operation log.
//   - split.go: XxxAsync on a shared connection (startSplit): the body runs
//     on the caller up to its first read, parks there, committed, and is
//     resumed by whoever awaits or by the connection's driver.
//   - conn.go, pipeline.go, pool.go, stream.go, errors.go: shared
//     connections (shareConn, shareReader, bindConn), the pipelined
//     connection, its pool, the stream of one exchange, and the errors of
//     a lost request (ErrMaybeExecuted).
//
// # Operations
//
// Every exported async operation becomes a body run by the runtime:
//
//	func (c *Client) GetContext(ctx context.Context, key string) (*Item, error) {
//		return runOp(ctx, "Get", opDetachable, func(ctx context.Context) (*Item, error) {
//			return c.getContext(ctx, key) // the original body of Get, ctx passed down
//		})
//	}
//	func (c *Client) GetAsync(ctx context.Context, key string) *Future[*Item] {
//		return startOp(ctx, "Get", opDetachable, func(ctx context.Context) (*Item, error) {
//			return c.getContext(ctx, key) // the future's operation runs the body
//		})
//	}
//
// runOp runs the body inline when ctx.Done() is nil or the mode is
// opAttached; otherwise it runs it on a goroutine and waits until the body
// ends or ctx does. opDetachable: the body owns what it writes, and once its
// request is committed it finishes (reading and discarding its reply) even if
// the caller left. opAttached: the body writes into caller memory (a buffer,
// a callback the caller passed) or holds its connection exclusively; it is
// never abandoned, and ending ctx mid-exchange closes its connection. Several
// results: use a result struct as T. sleep(ctx, d) replaces time.Sleep;
// ctxErr(ctx, &err), deferred, maps the error of a function that runs
// outside runOp (a package that does not share its connections).
//
// # Connections
//
// A client that owns one connection (go-beanstalk's NewConn(rwc)) wraps it:
// newPipeline(rwc, pipelineConfig{...}), closed by pl.close(). A client that
// dials and pools connections per address (gomemcache) uses a pool:
// newPool(poolConfig{Dial: ..., ConnsPerAddr: ...}), p.close() (usable after).
// rwc may be any io.ReadWriteCloser; when it has deadlines (a net.Conn),
// exclusive exchanges use them.
//
// A client whose dials the converter wraps gets handles instead: shareConn
// returns a net.Conn handle on a shared pipelined connection, shareReader
// keeps a bufio.Reader over it from taking other exchanges' bytes, and
// bindConn ties the handle's exchange to the operation (conn.go;
// docs/runtime.md, "Shared connections"). A handle alone in its group
// passes everything through to its connection until a second one joins.
// AsyncifyPipelining = false turns sharing off.
//
// # Exchanges
//
// An exchange is one request/response round on a connection. It begins with
// pl.begin(ctx) or p.begin(ctx, addr) (pipelined), or beginExclusive (the
// connection is held from the first write until the end: write after read,
// transactions, reservations). Each returns a *stream, the handle the
// exchange reads and writes through:
//
//	s := pl.begin(ctx)
//	s.writeString(ctx, "gets k\r\n")     // to a private buffer; the first write takes the write side
//	s.flush(ctx)                         // commit: place in the reply queue, bytes to the wire
//	line, err := s.readSlice(ctx, '\n')  // the first read waits for the exchange's turn
//	...
//	s.release()                          // in sync: pass the turn on; or s.close() when out of sync
//
// Reads: read, readByte, readSlice, readLine, readString, readBytes, peek,
// discard, buffered, readTextLine (textproto's ReadLine). Writes: write,
// writeString, writeByte, flush, printfLine (textproto's PrintfLine). For
// functions taking an io.Reader or io.Writer: s.reader(ctx), s.writer(ctx)
// (io.ReadFull(s.reader(ctx), buf), fmt.Fprintf(s.writer(ctx), ...)).
// textproto.Pipeline: Next -> begin, StartRequest -> startWrite, EndRequest ->
// nothing (flush committed), StartResponse -> startRead, EndResponse -> release.
// Deadline calls: setDeadline, setReadDeadline, setWriteDeadline (exclusive:
// the connection's deadline is the earlier of the client's and ctx's;
// pipelined: the duration feeds the stuck-connection limit, counted from the
// exchange's turn). expectServerWait(d) when the server holds the reply on
// purpose (a blocking reserve).
//
// Every bufio.Reader, bufio.Writer, bufio.ReadWriter and net.Conn that a
// client wraps around one connection becomes that same *stream: gomemcache's
// conn{nc, rw} holds the stream twice. The stream reads from the connection's
// one shared buffer, so read-ahead never takes another exchange's reply.
//
// In a pipelined exchange a write after the commit fails at once
// (errNotPipelinable); such operations must begin exclusively. A body that
// returns without ending its stream has it ended for it: uncommitted, dropped;
// committed and unread with a nil error, taken as expecting no reply; else
// its connection is closed. Streams are not safe for concurrent use and must
// not be used after release or close.
//
// # Errors
//
// Errors of the connection itself reach the client's code as they would
// without the runtime. A request that was committed and then lost with its
// connection (broken, stuck past its limit, closed, or cut off by another
// caller's ctx) fails with an error matching ErrMaybeExecuted, over a
// network error errors.As finds (the connection's own, or a *net.OpError
// the runtime builds: a read that timed out, for a stuck connection). A
// caller whose ctx ended gets ctx.Err().
//
// # Debugging
//
// ASYNCIFY_DEBUG=slow=10ms logs every operation slower than 10ms with its
// name and duration.
package templates
