package iodetect

import (
	"go/types"
	"strings"
)

// What the standard library's calls do, by qualified name. Calls on
// conn-derived values and functions given one are classified by shape
// (methodKind, ioParamKind); these tables hold the calls that block or dial
// whatever their operands are.

// dialFuncs return a new client connection as their first result.
var dialFuncs = map[string]bool{
	"net.Dial": true, "net.DialTimeout": true, "net.DialTCP": true, "net.DialUDP": true,
	"net.DialUnix": true, "net.DialIP": true,
	"crypto/tls.Dial": true, "crypto/tls.DialWithDialer": true,
}

// dialMethods are methods of dialers, keyed "pkgpath.Type.Method".
var dialMethods = map[string]bool{
	"net.Dialer.Dial": true, "net.Dialer.DialContext": true,
	"crypto/tls.Dialer.Dial": true, "crypto/tls.Dialer.DialContext": true,
}

// packetListens open a datagram socket that is not accepted from anyone:
// the package sends on it first (net.ListenPacket + WriteTo, a UDP client
// on an unconnected socket), so what they return is a client connection.
var packetListens = map[string]bool{
	"net.ListenPacket": true, "net.ListenUDP": true, "net.ListenUnixgram": true, "net.ListenIP": true,
	"net.ListenConfig.ListenPacket": true,
}

// keepsIO are library functions that keep the reader or writer they are
// given, to use later, instead of reading or writing it: not sites (the
// Logger that log.New returns writes when it logs).
var keepsIO = map[string]bool{
	"log.New": true, "log.SetOutput": true,
	"log/slog.NewTextHandler": true, "log/slog.NewJSONHandler": true,
}

// blockingFuncs are package functions that block without touching a
// connection: reported, never seeding the async set.
var blockingFuncs = map[string]Kind{
	"time.Sleep": KindSleep,

	"os.Open": KindFile, "os.OpenFile": KindFile, "os.Create": KindFile, "os.ReadFile": KindFile,
	"os.WriteFile": KindFile, "os.ReadDir": KindFile, "os.Remove": KindFile, "os.RemoveAll": KindFile,
	"os.Rename": KindFile, "os.Mkdir": KindFile, "os.MkdirAll": KindFile, "os.MkdirTemp": KindFile,
	"os.CreateTemp": KindFile, "os.Stat": KindFile, "os.Lstat": KindFile, "os.Truncate": KindFile,
	"io/ioutil.ReadFile": KindFile, "io/ioutil.WriteFile": KindFile, "io/ioutil.ReadDir": KindFile,

	"os/exec.Command": KindExec,

	"net.LookupHost": KindDNS, "net.LookupIP": KindDNS, "net.LookupAddr": KindDNS,
	"net.LookupCNAME": KindDNS, "net.LookupMX": KindDNS, "net.LookupNS": KindDNS,
	"net.LookupPort": KindDNS, "net.LookupSRV": KindDNS, "net.LookupTXT": KindDNS,
	"net.ResolveTCPAddr": KindDNS, "net.ResolveUDPAddr": KindDNS, "net.ResolveIPAddr": KindDNS,
}

// blockingMethods classify, by method name, the methods of these types
// (keyed "pkgpath.Type") that block without touching a connection.
var blockingMethods = map[string]func(name string) Kind{
	"os.File": func(name string) Kind {
		switch {
		case strings.HasPrefix(name, "Read"), strings.HasPrefix(name, "Write"), name == "Sync", name == "Seek", name == "Truncate":
			return KindFile
		}
		return ""
	},
	"os/exec.Cmd": func(name string) Kind {
		switch name {
		case "Run", "Output", "CombinedOutput", "Start", "Wait":
			return KindExec
		}
		return ""
	},
	"net.Resolver": func(name string) Kind {
		if strings.HasPrefix(name, "Lookup") {
			return KindDNS
		}
		return ""
	},
}

// methodKind classifies a method called on a conn-derived value.
func methodKind(recv string, m *types.Func) Kind {
	name := m.Name()
	sig := m.Type().(*types.Signature)
	switch name {
	case "Read", "ReadByte", "ReadRune", "ReadSlice", "ReadLine", "ReadBytes", "ReadString",
		"Peek", "Discard", "ReadLineBytes", "ReadContinuedLine", "ReadContinuedLineBytes",
		"ReadCodeLine", "ReadResponse", "ReadDotBytes", "ReadDotLines", "ReadMIMEHeader":
		return KindRead
	case "ReadFrom":
		// (*bufio.Writer).ReadFrom(io.Reader) writes; (*net.UDPConn).ReadFrom([]byte) reads.
		if sig.Params().Len() == 1 && hasMethod(sig.Params().At(0).Type(), "Read") {
			return KindWrite
		}
		return KindRead
	case "WriteTo":
		if sig.Params().Len() == 1 && hasMethod(sig.Params().At(0).Type(), "Write") {
			return KindRead
		}
		return KindWrite
	case "Write", "WriteString", "WriteByte", "WriteRune", "PrintfLine", "Cmd":
		return KindWrite
	case "Decode", "DecodeValue", "Token":
		// encoding/gob, encoding/json and encoding/xml decoders read the
		// stream they wrap; their encoders write to it
		if decoderPkg(m) {
			return KindRead
		}
	case "Encode", "EncodeValue":
		if decoderPkg(m) {
			return KindWrite
		}
	case "Scan":
		if recv == "bufio.Scanner" {
			return KindRead
		}
	case "Flush":
		return KindFlush
	case "SetDeadline", "SetReadDeadline", "SetWriteDeadline":
		return KindDeadline
	case "Close", "CloseRead", "CloseWrite":
		return KindClose
	case "Handshake", "HandshakeContext":
		return KindDial
	case "Next", "StartRequest", "EndRequest", "StartResponse", "EndResponse":
		if recv == "net/textproto.Pipeline" {
			return KindPipeline
		}
	}
	switch {
	case strings.HasPrefix(name, "Read"):
		return KindRead
	case strings.HasPrefix(name, "Write"):
		return KindWrite
	}
	return ""
}

// ioParamKind says what a function does with an argument passed for a
// parameter of type t: read from it (io.Reader and the like) or write to it.
func ioParamKind(t types.Type) Kind {
	if _, ok := t.Underlying().(*types.Interface); !ok {
		return ""
	}
	switch {
	case hasMethod(t, "Read"):
		return KindRead
	case hasMethod(t, "Write"):
		return KindWrite
	}
	return ""
}

// ioMethods are the methods that make a type able to carry a connection's
// bytes: a value of such a type can be conn-derived.
var ioMethods = []string{"Read", "Write", "ReadLine", "ReadSlice", "ReadByte", "PrintfLine", "Cmd", "Flush", "WriteString", "ReadFrom", "WriteTo"}

// decoderPkg reports whether m is a method of a stream decoder or encoder
// of the standard library (gob, json, xml), which wraps a reader or writer.
func decoderPkg(m *types.Func) bool {
	if m.Pkg() == nil {
		return false
	}
	switch m.Pkg().Path() {
	case "encoding/gob", "encoding/json", "encoding/xml":
		return true
	}
	return false
}

// ioCapable reports whether values of type t can hold a connection or wrap
// one: t (or a container of such) has one of ioMethods.
func ioCapable(t types.Type) bool {
	switch namedKey(t) {
	case "encoding/gob.Decoder", "encoding/gob.Encoder", "encoding/json.Decoder", "encoding/json.Encoder",
		"encoding/xml.Decoder", "encoding/xml.Encoder", "bufio.Scanner":
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Slice:
		return ioCapable(u.Elem())
	case *types.Array:
		return ioCapable(u.Elem())
	case *types.Map:
		return ioCapable(u.Elem())
	case *types.Chan:
		return ioCapable(u.Elem())
	}
	for _, m := range ioMethods {
		if hasMethod(t, m) {
			return true
		}
	}
	return false
}

// connType reports whether t is the type of a connection as such, rather than
// of something that wraps one: an interface with Read or Write declared in
// another package (net.Conn, io.ReadWriteCloser), or a type of package net or
// crypto/tls.
func connType(t types.Type, local *types.Package) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg() == local {
		return false
	}
	switch n.Obj().Pkg().Path() {
	case "net", "crypto/tls":
		return hasMethod(t, "Read") || hasMethod(t, "ReadFrom") && hasMethod(t, "WriteTo") // net.PacketConn
	}
	_, iface := n.Underlying().(*types.Interface)
	return iface && (hasMethod(t, "Read") || hasMethod(t, "Write"))
}

// userConnType reports whether a parameter of type t, in an exported
// function, is a connection the package's user hands in: net.Conn,
// io.ReadWriteCloser or io.ReadWriter.
func userConnType(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	switch n.Obj().Pkg().Path() + "." + n.Obj().Name() {
	case "net.Conn", "io.ReadWriteCloser", "io.ReadWriter":
		return true
	}
	return false
}

// hasMethod reports whether t, or *t for a non-pointer non-interface t, has
// a method of that name.
func hasMethod(t types.Type, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, name)
	_, ok := obj.(*types.Func)
	return ok
}

// namedKey names a named type (through pointers) as "pkgpath.Name", or "".
func namedKey(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return ""
	}
	return n.Obj().Pkg().Path() + "." + n.Obj().Name()
}

// typeString prints a type qualified by package names, relative to local.
func typeString(t types.Type, local *types.Package) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == local {
			return ""
		}
		return p.Name()
	})
}
