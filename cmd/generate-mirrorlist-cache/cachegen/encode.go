package cachegen

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/mirrorlist-go/mirrorlist-server/proto"
)

// Field numbers of MirrorList.MirrorListCache and of MirrorListCacheType
// (snapshot-format.md, section 1).
const (
	fieldMirrorListCache = 16

	fieldDirectory   = 1
	fieldGlobal      = 2
	fieldSubpath     = 3
	fieldByCountry   = 4
	fieldByInternet2 = 5
	fieldByHostID    = 6

	fieldKey   = 1
	fieldValue = 2
)

// dirEncoder encodes directory entries by hand, into one reused buffer:
// the generated encoder would need a message object per host list entry,
// millions of them at Fedora's size. It writes the bytes proto.Marshal
// writes for the same message (toProto), which the tests check: fields
// in number order, repeated integers unpacked as proto2 writers emit
// them, Subpath always present.
type dirEncoder struct {
	buf []byte
}

// appendField returns e encoded as a MirrorList field 16 (tag, length,
// message); the bytes are valid until the next call.
func (enc *dirEncoder) appendField(e *directoryEntry) []byte {
	b := enc.buf[:0]
	b = protowire.AppendTag(b, fieldMirrorListCache, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entrySize(e)))
	b = appendEntry(b, e)
	enc.buf = b
	return b
}

func appendEntry(b []byte, e *directoryEntry) []byte {
	b = appendString(b, fieldDirectory, e.directory)
	for _, id := range e.global {
		b = appendInt(b, fieldGlobal, id)
	}
	b = appendString(b, fieldSubpath, e.subpath)
	for _, g := range e.byCountry {
		b = appendCountryHosts(b, fieldByCountry, g)
	}
	for _, g := range e.byInternet2 {
		b = appendCountryHosts(b, fieldByInternet2, g)
	}
	for _, h := range e.byHost {
		b = protowire.AppendTag(b, fieldByHostID, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(hostURLsSize(h)))
		b = appendInt(b, fieldKey, h.host)
		for _, u := range h.urls {
			b = appendInt(b, fieldValue, u)
		}
	}
	return b
}

func appendCountryHosts(b []byte, field protowire.Number, g countryHosts) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(countryHostsSize(g)))
	b = appendString(b, fieldKey, g.country)
	for _, id := range g.hosts {
		b = appendInt(b, fieldValue, id)
	}
	return b
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendInt(b []byte, field protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// The sizes of the encodings above, for the length prefixes. Every tag
// here has a field number below 16, so it takes one byte.
func entrySize(e *directoryEntry) int {
	n := stringSize(e.directory) + stringSize(e.subpath)
	for _, id := range e.global {
		n += intSize(id)
	}
	for _, g := range e.byCountry {
		n += messageSize(countryHostsSize(g))
	}
	for _, g := range e.byInternet2 {
		n += messageSize(countryHostsSize(g))
	}
	for _, h := range e.byHost {
		n += messageSize(hostURLsSize(h))
	}
	return n
}

func countryHostsSize(g countryHosts) int {
	n := stringSize(g.country)
	for _, id := range g.hosts {
		n += intSize(id)
	}
	return n
}

func hostURLsSize(h hostURLs) int {
	n := intSize(h.host)
	for _, u := range h.urls {
		n += intSize(u)
	}
	return n
}

func stringSize(s string) int { return 1 + protowire.SizeBytes(len(s)) }
func intSize(v int64) int     { return 1 + protowire.SizeVarint(uint64(v)) }
func messageSize(n int) int   { return 1 + protowire.SizeBytes(n) }

// toProto is the readable reference of appendEntry: the same entry as a
// generated message, for proto.Marshal.
func toProto(e *directoryEntry) *pb.MirrorListCacheType {
	m := &pb.MirrorListCacheType{
		Directory: proto.String(e.directory),
		Global:    append([]int64(nil), e.global...),
		Subpath:   proto.String(e.subpath),
	}
	for _, g := range e.byCountry {
		m.ByCountry = append(m.ByCountry, &pb.StringRepeatedIntMap{Key: proto.String(g.country), Value: append([]int64(nil), g.hosts...)})
	}
	for _, g := range e.byInternet2 {
		m.ByCountryInternet2 = append(m.ByCountryInternet2, &pb.StringRepeatedIntMap{Key: proto.String(g.country), Value: append([]int64(nil), g.hosts...)})
	}
	for _, h := range e.byHost {
		m.ByHostId = append(m.ByHostId, &pb.IntRepeatedIntMap{Key: proto.Int64(h.host), Value: append([]int64(nil), h.urls...)})
	}
	return m
}
