package templates

import (
	"context"
	"reflect"
	"sync"
)

// Waits for a reply that the client's own reader goroutine delivers
// (net/rpc's Client, go-ldap's Conn): the caller's wait ends with ctx, the
// reader never gets the caller's ctx.

// replyPrivate gives an operation whose reply a reader goroutine decodes
// into dst, memory its caller passed, a private destination: when ctx can
// end and dst holds a non-nil pointer, a new value holding a copy of *dst,
// with keep copying it back into *dst once the reply has come (unchanged
// when the reader wrote nothing) and done being ctx.Done(); otherwise dst
// itself, a keep that does nothing and a nil done, so that the wait does
// not end early. The copy is shallow: maps and slices inside *dst are
// shared.
func replyPrivate(ctx context.Context, dst interface{}) (priv interface{}, keep func(), done <-chan struct{}) {
	v := reflect.ValueOf(dst)
	if ctx.Done() == nil || !v.IsValid() || v.Kind() != reflect.Ptr || v.IsNil() {
		return dst, func() {}, nil
	}
	p := reflect.New(v.Type().Elem())
	p.Elem().Set(v.Elem())
	return p.Interface(), func() { v.Elem().Set(p.Elem()) }, ctx.Done()
}

// condWait waits on c, as c.Wait does (c.L held on entry and on return),
// and reports whether ctx ended: then the caller returns ctx.Err(). A wait
// that ctx can end is woken by a Broadcast when it does.
func condWait(ctx context.Context, c *sync.Cond) bool {
	if ctx.Done() == nil {
		c.Wait()
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	stop := context.AfterFunc(ctx, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	stop()
	return ctx.Err() != nil
}
