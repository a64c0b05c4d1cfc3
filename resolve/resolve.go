package resolve

import (
	"math/rand/v2"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// Resolve answers req from s into a, which it resets first. rng supplies
// every random choice; pass a seeded one in tests and a per-request one
// (never shared between goroutines) in the server.
func Resolve(s *snapshot.Snapshot, req *Request, opt Options, rng *rand.Rand, a *Answer) {
	a.Reset()
	// TODO(resolve): the selection of protocol.md sections 3 to 5.
	a.Form, a.Status, a.Message, a.Plain = Message, 500, "not implemented", true
}

// Reset clears a for reuse, keeping the capacity of its slices.
func (a *Answer) Reset() {
	header, mirrors := a.Header[:0], a.Mirrors[:0]
	*a = Answer{Header: header, Mirrors: mirrors}
}
