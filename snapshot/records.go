package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// recordReader reads the top-level fields of a protobuf message from a
// stream, one at a time, into a reused buffer. Loading a snapshot this way
// never holds the whole file (66 MB for Fedora) in memory.
type recordReader struct {
	r    *bufio.Reader
	size int64 // the input's size: no field can be longer
	off  int64
	buf  []byte
}

// newRecordReader reads r, which holds size bytes, through a buffer of 1
// MB, or of size bytes when the input is smaller: a small input (a test,
// a fuzz input) need not pay for zeroing 1 MB twice per load.
func newRecordReader(r io.Reader, size int64) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, int(min(size, 1<<20))), size: size}
}

// record is one top-level field: v holds a length-delimited field's bytes
// (valid until the next call), u a varint or fixed field's value.
type record struct {
	num protowire.Number
	typ protowire.Type
	v   []byte
	u   uint64
	off int64 // where the field starts, for error messages
}

// next reads the next field; it returns io.EOF at a clean end of input.
// When keep is false for a length-delimited field, its bytes are skipped
// rather than read.
func (rr *recordReader) next(keep func(protowire.Number) bool) (record, error) {
	rec := record{off: rr.off}
	tag, err := rr.uvarint()
	if err == io.EOF && rr.off == rec.off {
		return rec, io.EOF
	}
	if err != nil {
		return rec, rr.fail(rec, err)
	}
	rec.num, rec.typ = protowire.DecodeTag(tag) // -1 for a number too large for 32 bits
	if !rec.num.IsValid() {
		return rec, rr.fail(rec, fmt.Errorf("invalid field number %d", tag>>3))
	}
	switch rec.typ {
	case protowire.VarintType:
		rec.u, err = rr.uvarint()
	case protowire.Fixed64Type:
		rec.u, err = rr.fixed(8)
	case protowire.Fixed32Type:
		rec.u, err = rr.fixed(4)
	case protowire.BytesType:
		rec.v, err = rr.bytes(keep(rec.num))
	default:
		err = fmt.Errorf("unsupported wire type %d", rec.typ)
	}
	if err != nil {
		return rec, rr.fail(rec, err)
	}
	return rec, nil
}

func (rr *recordReader) fail(rec record, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the input ends inside a field: truncated
	}
	return fmt.Errorf("field %d at offset %d: %w", rec.num, rec.off, err)
}

func (rr *recordReader) uvarint() (uint64, error) {
	start := rr.off
	v, err := binary.ReadUvarint(countingByteReader{rr})
	if err == io.EOF && rr.off > start {
		err = io.ErrUnexpectedEOF
	}
	return v, err
}

func (rr *recordReader) fixed(n int) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(rr.r, b[:n]); err != nil {
		return 0, err
	}
	rr.off += int64(n)
	if n == 4 {
		return uint64(binary.LittleEndian.Uint32(b[:4])), nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (rr *recordReader) bytes(keep bool) ([]byte, error) {
	n, err := rr.uvarint()
	if err != nil {
		return nil, err
	}
	// A corrupt length must not make us allocate gigabytes.
	if n > uint64(rr.size-rr.off) {
		return nil, fmt.Errorf("length %d runs past the end of the input", n)
	}
	if !keep {
		d, err := rr.r.Discard(int(n))
		rr.off += int64(d)
		return nil, err
	}
	if uint64(cap(rr.buf)) < n {
		rr.buf = make([]byte, n)
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return nil, err
	}
	rr.off += int64(n)
	return rr.buf, nil
}

// countingByteReader feeds binary.ReadUvarint while keeping the offset.
type countingByteReader struct{ rr *recordReader }

func (c countingByteReader) ReadByte() (byte, error) {
	b, err := c.rr.r.ReadByte()
	if err == nil {
		c.rr.off++
	}
	return b, err
}
