package pgtest

import (
	"context"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t)
	_, conn := s.Database(t, "probe", "CREATE TABLE answer (n integer)", "INSERT INTO answer VALUES (40)")
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT n + 2 FROM answer").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 42 {
		t.Fatalf("SELECT n + 2 FROM answer = %d", n)
	}
}

func TestFindBin(t *testing.T) {
	t.Setenv("MIRRORLIST_PG_BIN", t.TempDir())
	if dir, err := findBin(); err == nil {
		t.Errorf("an empty MIRRORLIST_PG_BIN gave %s", dir)
	}
}

func TestRequireTools(t *testing.T) {
	for _, tc := range []struct {
		ci, require string
		want        bool
	}{
		{"", "", false}, {"true", "", true}, {"", "1", true}, {"false", "0", false},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv("MIRRORLIST_REQUIRE_TOOLS", tc.require)
		if have := RequireTools(); have != tc.want {
			t.Errorf("CI=%q MIRRORLIST_REQUIRE_TOOLS=%q: %t, want %t", tc.ci, tc.require, have, tc.want)
		}
	}
}
