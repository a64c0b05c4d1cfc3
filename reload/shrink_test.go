package reload

import (
	"errors"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

func TestCheckShrink(t *testing.T) {
	cur := snapshot.Stats{Directories: 40000, Hosts: 880, RepoArches: 1291, DanglingRepoArches: 3}
	tests := []struct {
		name   string
		next   func(s *snapshot.Stats)
		refuse bool
	}{
		{"same", func(*snapshot.Stats) {}, false},
		{"grew", func(s *snapshot.Stats) { s.Directories, s.Hosts = 41000, 900 }, false},
		{"exactly half the directories", func(s *snapshot.Stats) { s.Directories = 20000 }, false},
		{"under half the directories", func(s *snapshot.Stats) { s.Directories = 19999 }, true},
		{"under half the hosts", func(s *snapshot.Stats) { s.Hosts = 439 }, true},
		{"fewer dangling", func(s *snapshot.Stats) { s.DanglingRepoArches = 0 }, false},
		{"1% more dangling", func(s *snapshot.Stats) { s.DanglingRepoArches = 3 + 12 }, false},
		{"over 1% more dangling", func(s *snapshot.Stats) { s.DanglingRepoArches = 3 + 13 }, true},
		{"5 more dangling of few repositories", func(s *snapshot.Stats) { s.RepoArches, s.DanglingRepoArches = 124, 3+5 }, false},
		{"6 more dangling of few repositories", func(s *snapshot.Stats) { s.RepoArches, s.DanglingRepoArches = 124, 3+6 }, true},
	}
	for _, tt := range tests {
		next := cur
		tt.next(&next)
		err := checkShrink(cur, next)
		var se *ShrinkError
		if refused := errors.As(err, &se); refused != tt.refuse {
			t.Errorf("%s: checkShrink = %v, want refused %v", tt.name, err, tt.refuse)
		}
	}
}
