package snapshot

import "sync/atomic"

// Holder publishes the current Snapshot to request handlers. Readers call
// Current once per request and use that snapshot to the end of the request;
// a reload calls Store, and requests already running finish on the snapshot
// they started with. Nothing on the request path takes a lock.
type Holder struct {
	p atomic.Pointer[Snapshot]
}

// Current returns the snapshot being served, or nil before the first Store.
func (h *Holder) Current() *Snapshot { return h.p.Load() }

// Store publishes s as the snapshot to serve from now on.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }
