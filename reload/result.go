package reload

import (
	"fmt"
	"strings"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// Parts is a set of snapshot parts, one per input file.
type Parts uint8

// The four parts of a snapshot and the files they are built from.
const (
	PartMirrors    Parts = 1 << iota // the cache file (Paths.Cache)
	PartGeoIP                        // the GeoIP database (Paths.GeoIP)
	PartRoutes                       // the global netblocks (Paths.Routes)
	PartContinents                   // the country→continent CSV (Paths.Continents)

	AllParts = PartMirrors | PartGeoIP | PartRoutes | PartContinents
)

const numInputs = 4

var partNames = [numInputs]string{"mirrors", "geoip", "routes", "continents"}

// partOf returns the part of input i, in the order of the constants.
func partOf(i int) Parts { return 1 << i }

// Has reports whether p includes every part of q.
func (p Parts) Has(q Parts) bool { return p&q == q }

// String lists the parts joined by "+", e.g. "mirrors+geoip", or "none".
func (p Parts) String() string {
	var names []string
	for i, name := range partNames {
		if p.Has(partOf(i)) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// MarshalText makes Parts appear as its String in JSON.
func (p Parts) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Outcome is what became of a build.
type Outcome uint8

const (
	// Unchanged: no input had changed, nothing was built. Run skips
	// these silently, except after a failure: every input is then back
	// to the version served, and the result that says so clears the
	// failure (it is passed to OnResult, not counted as a reload).
	Unchanged Outcome = iota
	// Reloaded: the new snapshot was published.
	Reloaded
	// Failed: an input could not be read or decoded, or changed while it
	// was read. The old snapshot stays.
	Failed
	// Refused: the new snapshot decoded but failed the shrink guard. The
	// old snapshot stays.
	Refused
	numOutcomes
)

// outcomeNames are the outcomes' one name each: in the log, the metrics'
// result label, the status and the POST /-/reload answer.
var outcomeNames = [numOutcomes]string{"unchanged", "reloaded", "failed", "refused"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", o)
}

// MarshalText makes Outcome appear as its String in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Result describes one build.
type Result struct {
	Outcome    Outcome
	Forced     bool           // a forced reload (Trigger, ReloadNow): every part was rebuilt
	Rebuilt    Parts          // the parts loaded from their files
	Generation uint64         // the generation served after the build
	Stats      snapshot.Stats // the new snapshot's (zero if none was assembled)
	Start      time.Time
	Duration   time.Duration
	Err        error // why it failed or was refused: a *FileError or a *ShrinkError
}

// Status summarises a Reloader's work so far.
type Status struct {
	// Generation counts the snapshots published, the first load
	// included; 0 means none yet.
	Generation uint64 `json:"generation"`
	// SnapshotTime is the Time field of the snapshot published last
	// (seconds since the epoch).
	SnapshotTime uint64 `json:"snapshot_time"`
	// LastSuccess is when the last snapshot was published.
	LastSuccess time.Time `json:"last_success,omitzero"`

	// The last build, whatever its outcome.
	LastBuild         time.Time     `json:"last_build,omitzero"`
	LastBuildDuration time.Duration `json:"last_build_duration_ns"`
	LastOutcome       Outcome       `json:"last_outcome"`
	LastRebuilt       Parts         `json:"last_rebuilt"`

	// The last failure or refusal.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`

	Reloads  uint64 `json:"reloads"`  // builds published
	Failures uint64 `json:"failures"` // builds failed
	Refusals uint64 `json:"refusals"` // builds refused by the shrink guard
}

// failing reports whether the last build failed or was refused, and no
// success or return to the served inputs has cleared it since.
func (st Status) failing() bool { return st.LastOutcome == Failed || st.LastOutcome == Refused }

// FileError is a build failure caused by one input file.
type FileError struct {
	Part Parts  // the part the file feeds
	Path string // the file
	Err  error
}

func (e *FileError) Error() string {
	msg := e.Err.Error()
	if strings.Contains(msg, e.Path) {
		return fmt.Sprintf("%s: %s", e.Part, msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Part, e.Path, msg)
}

func (e *FileError) Unwrap() error { return e.Err }
