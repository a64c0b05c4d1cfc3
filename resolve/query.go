package resolve

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
)

// ParseQuery fills req from the raw (still percent-encoded) query string
// q and returns the decoded ip= value, which the HTTP layer weighs against
// X-Forwarded-For and the connection's address to set req.Client. It
// fails only with a *QueryError: malformed percent-encoding, or a control
// character, in a value the server uses.
//
// The rules are those of docs/protocol.md, "Query parameters": pairs are
// split on '&'; a key without '=' has the value ""; a value ends at the
// next '=', as in every MirrorManager version ("repo=a=b" asks for repo
// "a"); when a key repeats the last one wins; keys are compared as sent,
// and unknown ones (dnf's countme=, Fedora's infra= and content=) are
// ignored. Only the winning values are decoded, and a value without '%'
// costs no allocation: the scan keeps substrings of q instead of filling a
// url.Values map.
func ParseQuery(q string, req *Request) (ip string, err error) {
	rq := scanQuery(q)
	// cc= is the CentOS clients' synonym of country=, used only when
	// country= is absent altogether.
	country, countryKey := rq.country, "country"
	if !country.set {
		country, countryKey = rq.cc, "cc"
	}
	var netblock string
	// Every winning value is decoded; the first malformed one, in this
	// order, is reported.
	err = cmp.Or(
		decodeInto(&req.Repo, "repo", rq.repo),
		decodeInto(&req.Arch, "arch", rq.arch),
		decodeInto(&req.Path, "path", rq.path),
		decodeInto(&req.Version, "version", rq.version),
		decodeInto(&req.Country, countryKey, country),
		decodeInto(&req.Protocol, "protocol", rq.protocol),
		decodeInto(&netblock, "netblock", rq.netblock),
		decodeInto(&ip, "ip", rq.ip),
	)
	if err != nil {
		return "", err
	}
	req.HasRepo, req.HasArch, req.HasPath = rq.repo.set, rq.arch.set, rq.path.set
	req.RawRepo, req.RawArch, req.RawVersion = rq.repo.raw, rq.arch.raw, rq.version.raw
	req.HasProto = rq.protocol.set
	// The netblock and ASN steps run when netblock= is absent or "1";
	// any other value, a bare "netblock" included, turns them off.
	req.NoNetblock = rq.netblock.set && netblock != "1"
	req.Redirect, req.Time = rq.redirect.set, rq.time.set
	return ip, nil
}

// rawQuery holds the raw value of every query key the server knows, as
// found by scanQuery.
type rawQuery struct {
	repo, arch, path, version       field
	country, cc, protocol, netblock field
	redirect, time, ip              field
}

// field is one known key's raw value; set records that the key was present.
type field struct {
	raw string
	set bool
}

// put records a value; a later occurrence of the key replaces an earlier one.
func (f *field) put(raw string) { f.raw, f.set = raw, true }

// scanQuery splits the raw query into the known keys' raw values.
func scanQuery(q string) rawQuery {
	var rq rawQuery
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		key, value, _ := strings.Cut(pair, "=")
		value, _, _ = strings.Cut(value, "=")
		if f := rq.lookup(key); f != nil {
			f.put(value)
		}
	}
	return rq
}

// lookup returns the field that stores key, or nil for a key the server
// does not use.
func (rq *rawQuery) lookup(key string) *field {
	switch key {
	case "repo":
		return &rq.repo
	case "arch":
		return &rq.arch
	case "path":
		return &rq.path
	case "version":
		return &rq.version
	case "country":
		return &rq.country
	case "cc":
		return &rq.cc
	case "protocol":
		return &rq.protocol
	case "netblock":
		return &rq.netblock
	case "redirect":
		return &rq.redirect
	case "time":
		return &rq.time
	case "ip":
		return &rq.ip
	}
	return nil
}

// QueryError reports a query value that is not valid percent-encoding, or
// that decodes to a control character.
//
// The production server does not decode values at all, so it has no such
// error. Since we decode (a deviation, see docs/protocol.md), a value like
// "%zz" or a lone "%" can mean nothing reliable: guessing (passing it
// through undecoded) could select a different repository than the client
// meant, so the request is refused with 400 Bad Request and a message
// naming the parameter. So is a value with a control character such as
// "%0A": no repository, path or country has one, and the mirrorlist header
// echoes path= and protocol=, where a newline would let a request add
// lines of its own (a URL, say) to its answer.
type QueryError struct {
	Key string // the parameter whose value is malformed
	Err error  // the decoder's error, or a ControlError
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("invalid percent-encoding in the value of %s=: %v", e.Key, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// ControlError is the cause of a QueryError for a value that holds a
// control character (after decoding).
type ControlError byte

func (e ControlError) Error() string {
	return fmt.Sprintf("%%%02X is a control character", byte(e))
}

// decode percent-decodes a raw value. A '+' stays a '+' (path semantics,
// not form semantics): repository paths can contain '+'. Values without a
// '%' are returned as they are, without allocating. A value holding a
// control character is refused.
func decode(key, raw string) (string, error) {
	v := raw
	if strings.IndexByte(raw, '%') >= 0 {
		var err error
		if v, err = url.PathUnescape(raw); err != nil {
			return "", &QueryError{Key: key, Err: err}
		}
	}
	if c, ok := controlByte(v); ok {
		return "", &QueryError{Key: key, Err: ControlError(c)}
	}
	return v, nil
}

// controlByte returns the first ASCII control character of s.
func controlByte(s string) (byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}

// decodeInto decodes f's raw value into *dst when the key was present.
func decodeInto(dst *string, key string, f field) error {
	if !f.set {
		return nil
	}
	v, err := decode(key, f.raw)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
