// Package xmlesc escapes text for XML: the characters & < > and " become
// entities, so that the result is safe in element text and in
// double-quoted attribute values alike. It is the one escaper of the
// module: the snapshot escapes its URLs with it once at load, and the
// metalink writer escapes what depends on the request.
package xmlesc

// Append appends s to dst, escaped.
func Append(dst []byte, s string) []byte {
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

// String returns s escaped; s itself when it needs no escaping.
func String(s string) string {
	if !Needed(s) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)+16), s))
}

// Needed reports whether s holds a character that Append escapes.
func Needed[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"':
			return true
		}
	}
	return false
}
