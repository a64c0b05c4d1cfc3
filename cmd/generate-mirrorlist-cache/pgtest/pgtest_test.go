package pgtest

import (
	"context"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t)
	url := s.CreateDatabase(t, "probe")
	conn := Connect(t, url)
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT 40 + 2").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 42 {
		t.Fatalf("SELECT 40 + 2 = %d", n)
	}
}
