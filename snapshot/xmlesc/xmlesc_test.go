package xmlesc

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://mirror.example.org/pub/fedora", "https://mirror.example.org/pub/fedora"},
		{`a&b<c>d"e`, "a&amp;b&lt;c&gt;d&quot;e"},
		{"&&", "&amp;&amp;"},
		{"'single' stays", "'single' stays"},
		{"ü<", "ü&lt;"},
	}
	for _, tt := range tests {
		if got := string(Append([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("Append(%q) = %q, want %q", tt.in, got, "x"+tt.want)
		}
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if Needed(tt.in) != (tt.in != tt.want) || Needed([]byte(tt.in)) != (tt.in != tt.want) {
			t.Errorf("Needed(%q) = %v", tt.in, Needed(tt.in))
		}
	}
	if s := "plain"; String(s) != s {
		t.Error("String copied a plain string")
	}
}
