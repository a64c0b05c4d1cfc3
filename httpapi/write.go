package httpapi

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot/xmlesc"
)

// The writers below build answer bodies byte for byte as docs/protocol.md
// section 7 gives them. They append to a caller's buffer (pooled by the
// handler), so an answer costs no allocation beyond the buffer's growth.

// pubdateLayout is the metalink pubdate, strftime's "%a, %d %b %Y %H:%M:%S
// GMT", always formatted in UTC.
const pubdateLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// appendMirrorlist appends a mirrorlist text answer: the header, a newline,
// then every URL of every mirror on its own line. resolve has already kept
// one URL per host for mirrorlist answers.
func appendMirrorlist(dst []byte, s *snapshot.Snapshot, a *resolve.Answer) []byte {
	dst = append(dst, a.Header...)
	dst = append(dst, '\n')
	if len(a.Mirrors) == 0 {
		return dst
	}
	var buf [2][256]byte
	suffixes := [2][]byte{
		append(a.AppendURLSuffix(buf[0][:0], false), '\n'),
		append(a.AppendURLSuffix(buf[1][:0], true), '\n'),
	}
	ms := s.Mirrors()
	for i := range a.Mirrors {
		for _, ref := range a.Mirrors[i].URLs {
			u := ms.URL(ref)
			dst = append(dst, u...)
			dst = append(dst, suffixes[slashIndex(u)]...)
		}
	}
	return dst
}

// slashIndex is 1 for a URL that ends in "/", else 0: the index of the
// URL suffix that fits it.
func slashIndex(url string) int {
	if strings.HasSuffix(url, "/") {
		return 1
	}
	return 0
}

// appendMetalinkHead appends the two lines that open every metalink answer,
// documents and failure documents alike.
func appendMetalinkHead(dst []byte, now time.Time) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+
		`<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="`...)
	dst = now.UTC().AppendFormat(dst, pubdateLayout)
	return append(dst, `" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">`+"\n"...)
}

// appendFailure appends a metalink failure document carrying msg in an XML
// comment.
//
// A "--" inside msg is written as "- -": XML forbids "--" inside a comment,
// and the message can echo the client's path or repo, which must not be
// able to close the comment and inject markup. For the same reason bytes
// that are not UTF-8, or not XML characters, become U+FFFD: the document
// declares UTF-8, and a parser such as libxml2 rejects it whole otherwise.
// Real messages have neither, so their bytes are unchanged.
func appendFailure(dst []byte, msg string, now time.Time) []byte {
	dst = appendMetalinkHead(dst, now)
	dst = append(dst, "<!-- "...)
	dst = appendCommentText(dst, msg)
	return append(dst, "\n-->\n</metalink>\n"...)
}

func appendCommentText(dst []byte, msg string) []byte {
	if !isXMLText(msg) {
		msg = strings.Map(xmlRune, msg) // rare: allocating is fine
	}
	for {
		i := strings.Index(msg, "--")
		if i < 0 {
			return append(dst, msg...)
		}
		dst = append(dst, msg[:i+1]...)
		dst = append(dst, ' ')
		msg = msg[i+1:]
	}
}

// appendMetalink appends the metalink document of a Document answer.
func appendMetalink(dst []byte, s *snapshot.Snapshot, a *resolve.Answer, now time.Time) []byte {
	dst = appendMetalinkHead(dst, now)
	dst = append(dst, " <files>\n  <file name=\""...)
	dst = appendEscaped(dst, a.File)
	dst = append(dst, "\">\n"...)
	if a.Details != nil && len(a.Details.Versions) > 0 {
		dst = appendDetails(dst, &a.Details.Versions[0], "  ")
		dst = appendAlternates(dst, a.Details.Versions[1:])
	}
	dst = append(dst, "   <resources maxconnections=\"1\">\n"...)
	dst = appendResources(dst, s.Mirrors(), a)
	return append(dst, "   </resources>\n  </file>\n </files>\n</metalink>\n"...)
}

// appendAlternates appends the mm0:alternates block for the file's older
// versions; there is no block when there are none.
func appendAlternates(dst []byte, alts []snapshot.FileDetails) []byte {
	if len(alts) == 0 {
		return dst
	}
	dst = append(dst, "   <mm0:alternates>\n"...)
	for i := range alts {
		dst = append(dst, "    <mm0:alternate>\n"...)
		dst = appendDetails(dst, &alts[i], "     ")
		dst = append(dst, "    </mm0:alternate>\n"...)
	}
	return append(dst, "   </mm0:alternates>\n"...)
}

// appendDetails appends one version's timestamp, size and verification
// lines, each indented by indent plus one space (the hashes by one more).
// Timestamp and size appear only when non-zero, a hash only when non-empty.
func appendDetails(dst []byte, fd *snapshot.FileDetails, indent string) []byte {
	if fd.Timestamp != 0 {
		dst = append(append(dst, indent...), " <mm0:timestamp>"...)
		dst = strconv.AppendUint(dst, fd.Timestamp, 10)
		dst = append(dst, "</mm0:timestamp>\n"...)
	}
	if fd.Size != 0 {
		dst = append(append(dst, indent...), " <size>"...)
		dst = strconv.AppendUint(dst, fd.Size, 10)
		dst = append(dst, "</size>\n"...)
	}
	dst = append(append(dst, indent...), " <verification>\n"...)
	plain := fd.PlainHashes()
	dst = appendHash(dst, indent, "md5", fd.MD5, plain)
	dst = appendHash(dst, indent, "sha1", fd.SHA1, plain)
	dst = appendHash(dst, indent, "sha256", fd.SHA256, plain)
	dst = appendHash(dst, indent, "sha512", fd.SHA512, plain)
	return append(append(dst, indent...), " </verification>\n"...)
}

// appendHash appends a hash line; plain says that sum needs no escaping.
func appendHash(dst []byte, indent, typ, sum string, plain bool) []byte {
	if sum == "" {
		return dst
	}
	dst = append(append(dst, indent...), `  <hash type="`...)
	dst = append(dst, typ...)
	dst = append(dst, `">`...)
	if plain {
		dst = append(dst, sum...)
	} else {
		dst = appendEscaped(dst, sum)
	}
	return append(dst, "</hash>\n"...)
}

// appendResources appends one <url> line per URL of every mirror:
//
//	<url protocol="https" type="https" location="DE" preference="100">https://…/repomd.xml</url>
//
// These lines are nearly all of a metalink, so what repeats is built only
// once: the URL already escaped once per snapshot (URLForXML), the
// attributes a mirror's URLs share once per mirror, and the text between
// two URLs (the end of one line, with the directory, the file and
// "</url>", and the start of the next) once per answer for each way the
// one URL can end and each scheme the next can have. A line then costs
// three copies.
func appendResources(dst []byte, ms *snapshot.Mirrors, a *resolve.Answer) []byte {
	if len(a.Mirrors) == 0 {
		return dst
	}
	var buf [2][256]byte
	tails := [2][]byte{urlTail(buf[0][:0], a, false), urlTail(buf[1][:0], a, true)}
	// joints[slash][s]: tails[slash] followed by the start of a line for
	// a URL of scheme s, or nil for OtherScheme, whose name is the URL's.
	var joints [2][snapshot.Rsync + 1][]byte
	var jbuf [1024]byte
	jb := jbuf[:0]
	for slash := range joints {
		for s := snapshot.HTTPS; int(s) < len(joints[slash]); s++ {
			start := len(jb)
			jb = append(jb, tails[slash]...)
			jb = appendURLHead(jb, s, "")
			joints[slash][s] = jb[start:len(jb):len(jb)]
		}
	}
	var attrBuf [64]byte
	prev := -1 // slashIndex of the previous URL; -1 before the first
	for i := range a.Mirrors {
		m := &a.Mirrors[i]
		attrs := appendMirrorAttrs(attrBuf[:0], m)
		for _, ref := range m.URLs {
			u := ms.URLForXML(ref)
			s := ms.URLScheme(ref)
			var joint []byte
			if prev >= 0 && int(s) < len(joints[prev]) {
				joint = joints[prev][s]
			}
			if joint != nil {
				dst = append(dst, joint...)
			} else {
				if prev >= 0 {
					dst = append(dst, tails[prev]...)
				}
				dst = appendURLHead(dst, s, u)
			}
			dst = append(dst, attrs...)
			dst = append(dst, u...)
			prev = slashIndex(u)
		}
	}
	return append(dst, tails[prev]...)
}

// urlTail appends the end of a <url> line after the hcurl's URL (slash
// says whether that ends in "/"): the rest of the URL, escaped, and the
// closing tag.
func urlTail(dst []byte, a *resolve.Answer, slash bool) []byte {
	start := len(dst)
	dst = a.AppendURLSuffix(dst, slash)
	if needsEscape(dst[start:]) {
		raw := string(dst[start:])
		dst = appendEscaped(dst[:start], raw)
	}
	return append(dst, "</url>\n"...)
}

// appendMirrorAttrs appends the part of a <url> line that all of a
// mirror's URLs share, from the location's value to the opening tag's end.
func appendMirrorAttrs(dst []byte, m *resolve.Mirror) []byte {
	if len(m.Location) == 2 && isUpper(m.Location[0]) && isUpper(m.Location[1]) {
		dst = append(dst, m.Location...) // a country code: nothing to escape
	} else {
		dst = appendEscaped(dst, m.Location)
	}
	dst = append(dst, `" preference="`...)
	dst = appendPreference(dst, m.Preference)
	dst = append(dst, '"')
	if m.Private {
		dst = append(dst, ` mm0:private="True"`...)
	}
	return append(dst, '>')
}

// appendPreference appends a metalink preference in decimal. Preferences
// are 1 to 100, and a metalink has one per mirror: two digits written
// directly cost a fraction of strconv's general conversion.
func appendPreference(dst []byte, p int) []byte {
	switch {
	case p >= 10 && p < 100:
		return append(dst, byte('0'+p/10), byte('0'+p%10))
	case p >= 0 && p < 10:
		return append(dst, byte('0'+p))
	}
	return strconv.AppendInt(dst, int64(p), 10)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// appendURLHead appends the start of a <url> line up to the location's
// value for a URL of scheme s; url, already escaped, gives an unusual
// scheme's name.
func appendURLHead(dst []byte, s snapshot.Scheme, url string) []byte {
	switch s {
	case snapshot.HTTPS:
		return append(dst, `    <url protocol="https" type="https" location="`...)
	case snapshot.HTTP:
		return append(dst, `    <url protocol="http" type="http" location="`...)
	case snapshot.Rsync:
		return append(dst, `    <url protocol="rsync" type="rsync" location="`...)
	case snapshot.FTP:
		return append(dst, `    <url protocol="ftp" type="ftp" location="`...)
	}
	scheme := schemeOf(url)
	dst = append(dst, `    <url protocol="`...)
	dst = append(dst, scheme...)
	dst = append(dst, `" type="`...)
	dst = append(dst, scheme...)
	return append(dst, `" location="`...)
}

// schemeOf returns the part of a URL before its first ':', e.g. "https".
func schemeOf(u string) string {
	if i := strings.IndexByte(u, ':'); i >= 0 {
		return u[:i]
	}
	return ""
}

// appendEscaped appends s with the XML special characters escaped.
func appendEscaped(dst []byte, s string) []byte { return xmlesc.Append(dst, s) }

// isXMLText reports whether s is valid UTF-8 made of XML 1.0 characters
// only.
func isXMLText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			return utf8.ValidString(s[i:]) && strings.IndexFunc(s[i:], notXML) < 0
		}
	}
	return true
}

// xmlRune maps a rune that XML does not allow (or an invalid byte, which
// strings.Map sees as utf8.RuneError) to U+FFFD.
func xmlRune(r rune) rune {
	if notXML(r) {
		return utf8.RuneError
	}
	return r
}

// notXML reports whether r is outside XML 1.0's Char production.
func notXML(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return true
	}
	return false
}

func needsEscape(b []byte) bool { return xmlesc.Needed(b) }
