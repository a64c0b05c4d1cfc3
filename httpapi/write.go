package httpapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// The writers below build answer bodies byte for byte as protocol.md
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
	for i := range a.Mirrors {
		m := &a.Mirrors[i]
		for j := range m.URLs {
			dst = a.AppendURL(dst, s, m, j)
			dst = append(dst, '\n')
		}
	}
	return dst
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
// able to close the comment and inject markup. Real messages never contain
// "--", so their bytes are unchanged.
func appendFailure(dst []byte, msg string, now time.Time) []byte {
	dst = appendMetalinkHead(dst, now)
	dst = append(dst, "<!-- "...)
	dst = appendCommentText(dst, msg)
	return append(dst, "\n-->\n</metalink>\n"...)
}

func appendCommentText(dst []byte, msg string) []byte {
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
	for i := range a.Mirrors {
		dst = appendMirrorURLs(dst, s, a, &a.Mirrors[i])
	}
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
	dst = appendHash(dst, indent, "md5", fd.MD5)
	dst = appendHash(dst, indent, "sha1", fd.SHA1)
	dst = appendHash(dst, indent, "sha256", fd.SHA256)
	dst = appendHash(dst, indent, "sha512", fd.SHA512)
	return append(append(dst, indent...), " </verification>\n"...)
}

func appendHash(dst []byte, indent, typ, sum string) []byte {
	if sum == "" {
		return dst
	}
	dst = append(append(dst, indent...), `  <hash type="`...)
	dst = append(dst, typ...)
	dst = append(dst, `">`...)
	dst = appendEscaped(dst, sum)
	return append(dst, "</hash>\n"...)
}

// appendMirrorURLs appends one <url> line per URL of a mirror; all share
// the mirror's location and preference.
func appendMirrorURLs(dst []byte, s *snapshot.Snapshot, a *resolve.Answer, m *resolve.Mirror) []byte {
	for j, ref := range m.URLs {
		scheme := schemeOf(s.Mirrors().URL(ref))
		dst = append(dst, `    <url protocol="`...)
		dst = appendEscaped(dst, scheme)
		dst = append(dst, `" type="`...)
		dst = appendEscaped(dst, scheme)
		dst = append(dst, `" location="`...)
		dst = appendEscaped(dst, m.Location)
		dst = append(dst, `" preference="`...)
		dst = strconv.AppendInt(dst, int64(m.Preference), 10)
		dst = append(dst, '"')
		if m.Private {
			dst = append(dst, ` mm0:private="True"`...)
		}
		dst = append(dst, '>')
		dst = appendEscapedURL(dst, s, a, m, j)
		dst = append(dst, "</url>\n"...)
	}
	return dst
}

// appendEscapedURL appends the j-th URL of m, XML-escaped. The URL is built
// in place at the end of dst and escaped only if it needs it, which real
// URLs rarely do.
func appendEscapedURL(dst []byte, s *snapshot.Snapshot, a *resolve.Answer, m *resolve.Mirror, j int) []byte {
	start := len(dst)
	dst = a.AppendURL(dst, s, m, j)
	if !needsEscape(dst[start:]) {
		return dst
	}
	raw := string(dst[start:])
	return appendEscaped(dst[:start], raw)
}

// schemeOf returns the part of a URL before its first ':', e.g. "https".
func schemeOf(u string) string {
	if i := strings.IndexByte(u, ':'); i >= 0 {
		return u[:i]
	}
	return ""
}

// appendEscaped appends s with the XML special characters & < > " escaped,
// so that URLs and names are safe both in text and in attribute values.
func appendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

func needsEscape(b []byte) bool {
	for _, c := range b {
		switch c {
		case '&', '<', '>', '"':
			return true
		}
	}
	return false
}
