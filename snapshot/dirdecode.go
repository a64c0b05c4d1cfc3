package snapshot

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// dirMessage is one MirrorListCacheType decoded into reused scratch space.
// Decoding it by hand instead of with proto.Unmarshal matters at Fedora
// scale: a directory's ~600 ByHostId and ~60 ByCountry entries would each
// be a separate heap object, some 28 million per load, all garbage a moment
// later. Here the lists are appended to flat slices and referenced by
// offsets, and the only allocation is the directory's name.
type dirMessage struct {
	name, subpath []byte
	haveName      bool
	global        []int64
	countries     []span // ByCountry: key, and its hosts in ids
	hosts         []span // ByHostId: key, and its hcurls in ids
	ids           []int64
	one           []span // decodeHost's scratch

	// The raw bytes of the Global (2), ByCountry (4) and ByHostId (6)
	// fields, as scan finds them; see sections.
	sections [numSections]section
}

// A section is the raw bytes of one repeated field of a directory
// message, from its first record to the end of its last. Directories
// carry the same mirrors by the thousand, and a writer encodes the same
// list the same way: a section byte for byte like one seen before decodes
// to the same list, which the builder then need not decode again. split
// says other fields come between the field's records: the bytes are then
// not the section, and it is always decoded.
type section struct {
	raw   []byte
	split bool
}

const (
	globalSection = iota
	countrySection
	carrierSection
	numSections
)

// sectionOf returns the section of a field number, or -1.
func sectionOf(num protowire.Number) int {
	switch num {
	case 2:
		return globalSection
	case 4:
		return countrySection
	case 6:
		return carrierSection
	}
	return -1
}

// span is one key/value-list entry: key is the string key (ByCountry) or
// the int key (ByHostId); ids[start:end] the list.
type span struct {
	key        []byte
	intKey     int64
	start, end int
	raw        []byte // the entry's bytes, undecoded (ByHostId, decodeLazily)
}

func (d *dirMessage) reset() {
	*d = dirMessage{global: d.global[:0], countries: d.countries[:0], hosts: d.hosts[:0], ids: d.ids[:0], one: d.one}
}

// scan reads the message's top-level fields only: the name, the subpath
// and the raw sections, leaving the lists undecoded. It refuses what
// decode refuses at the top level (a known field of the wrong wire type,
// a truncated field, no name); what decode refuses inside a section it
// leaves to decode.
func (d *dirMessage) scan(b []byte) error {
	d.reset()
	last := -1
	for off := 0; off < len(b); {
		num, typ, n, err := consumeTag(b[off:])
		if err != nil {
			return err
		}
		var v []byte
		m := 0
		switch {
		case typ == protowire.BytesType && (num == 1 || num == 3):
			v, m = protowire.ConsumeBytes(b[off+n:])
		case num == 1 || num == 3 || ((num == 4 || num == 6) && typ != protowire.BytesType):
			return fmt.Errorf("field %d has wire type %d", num, typ)
		case num == 2 && typ != protowire.VarintType && typ != protowire.BytesType:
			return fmt.Errorf("repeated int64 field has wire type %d", typ)
		default:
			m = protowire.ConsumeFieldValue(num, typ, b[off+n:])
		}
		if m < 0 {
			return protowire.ParseError(m)
		}
		switch num {
		case 1:
			d.name, d.haveName = v, true
		case 3:
			d.subpath = v
		}
		if i := sectionOf(num); i >= 0 {
			sec := &d.sections[i]
			switch {
			case sec.raw == nil:
				sec.raw = b[off : off+n+m]
			case last == i:
				sec.raw = sec.raw[:len(sec.raw)+n+m] // b continues where raw ends
			default:
				sec.split = true
			}
			last = i
		} else {
			last = -1
		}
		off += n + m
	}
	if !d.haveName {
		return errors.New("required field directory not set")
	}
	return nil
}

// decode parses a MirrorListCacheType. Repeated int64 fields are accepted
// packed or unpacked, as a protobuf decoder must.
func (d *dirMessage) decode(b []byte) error { return d.decodeWith(b, false) }

// decodeLazily is decode but for the ByHostId entries, whose bytes it
// only records (span.raw): the builder decodes each distinct entry once
// (decodeHost), and a host's entry is the same in thousands of
// directories.
func (d *dirMessage) decodeLazily(b []byte) error { return d.decodeWith(b, true) }

// decodeHost decodes a ByHostId entry that decodeLazily recorded.
func (d *dirMessage) decodeHost(raw []byte) (span, error) {
	one := d.one[:0]
	err := d.entry(&one, raw, protowire.VarintType, "ByHostId")
	d.one = one
	if err != nil {
		return span{}, err
	}
	return one[0], nil
}

func (d *dirMessage) decodeWith(b []byte, lazyHosts bool) error {
	d.reset()
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			d.name, n = protowire.ConsumeBytes(b)
			d.haveName = true
		case num == 2:
			d.global, n, err = consumeInts(d.global, typ, b)
		case num == 3 && typ == protowire.BytesType:
			d.subpath, n = protowire.ConsumeBytes(b)
		case num == 4 && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				err = d.entry(&d.countries, v, protowire.BytesType, "ByCountry")
			}
		case num == 6 && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			switch {
			case n >= 0 && lazyHosts:
				d.hosts = append(d.hosts, span{raw: v})
			case n >= 0:
				err = d.entry(&d.hosts, v, protowire.VarintType, "ByHostId")
			}
		case num == 1 || num == 3 || num == 4 || num == 6:
			return fmt.Errorf("field %d has wire type %d", num, typ)
		default: // 5 (ByCountryInternet2), 7, unknown: unused
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if err != nil {
			return err
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	if !d.haveName {
		return errors.New("required field directory not set")
	}
	return nil
}

// entry parses a StringRepeatedIntMap (keyType BytesType) or an
// IntRepeatedIntMap (keyType VarintType) and appends it to list.
func (d *dirMessage) entry(list *[]span, b []byte, keyType protowire.Type, what string) error {
	e := span{start: len(d.ids)}
	haveKey := false
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case num == 1 && typ == keyType && keyType == protowire.BytesType:
			e.key, n = protowire.ConsumeBytes(b)
			haveKey = true
		case num == 1 && typ == keyType:
			var u uint64
			u, n = protowire.ConsumeVarint(b)
			e.intKey, haveKey = int64(u), true
		case num == 2:
			d.ids, n, err = consumeInts(d.ids, typ, b)
		case num == 1:
			return fmt.Errorf("%s: key has wire type %d", what, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n < 0 {
			return fmt.Errorf("%s: %w", what, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if !haveKey {
		return fmt.Errorf("%s: required field key not set", what)
	}
	e.end = len(d.ids)
	*list = append(*list, e)
	return nil
}

// consumeInts appends one repeated int64 field's values, unpacked (one
// varint) or packed (a length-delimited run of varints), and returns how
// many bytes of b it used.
func consumeInts(dst []int64, typ protowire.Type, b []byte) ([]int64, int, error) {
	switch typ {
	case protowire.VarintType:
		u, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return dst, n, nil
		}
		return append(dst, int64(u)), n, nil
	case protowire.BytesType:
		packed, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return dst, n, nil
		}
		for len(packed) > 0 {
			u, m := protowire.ConsumeVarint(packed)
			if m < 0 {
				return dst, 0, protowire.ParseError(m)
			}
			dst = append(dst, int64(u))
			packed = packed[m:]
		}
		return dst, n, nil
	}
	return dst, 0, fmt.Errorf("repeated int64 field has wire type %d", typ)
}

// consumeTag is protowire.ConsumeTag that also refuses, as proto.Unmarshal
// does, a field number above protowire.MaxValidNumber.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, 0, protowire.ParseError(n)
	}
	if !num.IsValid() {
		return 0, 0, 0, fmt.Errorf("invalid field number %d", num)
	}
	return num, typ, n, nil
}
