package main

import (
	"testing"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
	"github.com/mirrorlist-go/mirrorlist-server/reload"
)

// TestReadinessOf checks what /readyz is told of the reloader's status:
// the last build's failure, until a success or a return to the served
// inputs clears it.
func TestReadinessOf(t *testing.T) {
	at := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   reload.Status
		want httpapi.ReloadState
	}{
		{"none yet", reload.Status{}, httpapi.ReloadState{}},
		{"loaded", reload.Status{Generation: 1, LastOutcome: reload.Reloaded}, httpapi.ReloadState{Generation: 1}},
		{"failed", reload.Status{Generation: 3, LastOutcome: reload.Failed, LastErrorTime: at, LastError: "bad"},
			httpapi.ReloadState{Generation: 3, Failure: "failed", FailureTime: at, Error: "bad"}},
		{"refused", reload.Status{Generation: 2, LastOutcome: reload.Refused, LastErrorTime: at, LastError: "shrink guard"},
			httpapi.ReloadState{Generation: 2, Failure: "refused", FailureTime: at, Error: "shrink guard"}},
		{"failed, then reloaded", reload.Status{Generation: 4, LastOutcome: reload.Reloaded, LastErrorTime: at, LastError: "old"},
			httpapi.ReloadState{Generation: 4}},
		{"failed, then the old file put back", reload.Status{Generation: 4, LastOutcome: reload.Unchanged, LastErrorTime: at, LastError: "old"},
			httpapi.ReloadState{Generation: 4}},
	}
	for _, tt := range tests {
		if got := readinessOf(tt.st); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
