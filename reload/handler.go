package reload

import (
	"encoding/json"
	"net/http"
)

// Handler returns the handler of POST /-/reload for an admin listener. A
// POST runs ReloadNow and answers with its result as JSON: 200 when the
// new snapshot was published, 500 with the error when it failed or was
// refused. Other methods get 405. Mount it on a listener that only
// operators reach: a forced reload rebuilds every part, the whole protobuf
// included, which is the costliest thing the server does.
func (r *Reloader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
			return
		}
		res, err := r.ReloadNow(req.Context())
		body := reloadAnswer{
			Outcome:      res.Outcome,
			Generation:   res.Generation,
			Rebuilt:      res.Rebuilt,
			SnapshotTime: res.Stats.Time,
			DurationMS:   res.Duration.Milliseconds(),
		}
		code := http.StatusOK
		if err != nil {
			code = http.StatusInternalServerError
			body.Error = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body) // the client may be gone; the reload is logged anyway
	})
}

// reloadAnswer is the JSON body of a POST /-/reload answer.
type reloadAnswer struct {
	Outcome      Outcome `json:"outcome"`
	Generation   uint64  `json:"generation"`
	Rebuilt      Parts   `json:"rebuilt"`
	SnapshotTime uint64  `json:"snapshot_time,omitempty"`
	DurationMS   int64   `json:"duration_ms"`
	Error        string  `json:"error,omitempty"`
}
