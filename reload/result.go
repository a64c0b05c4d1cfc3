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
	PartMirrors    Parts = 1 << iota // the protobuf snapshot (Paths.Cache)
	PartGeoIP                        // the GeoIP database (Paths.GeoIP)
	PartRoutes                       // the global netblocks (Paths.Netblocks)
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
	// these silently; they are never counted or passed to OnResult.
	Unchanged Outcome = iota
	// Reloaded: the new snapshot was published.
	Reloaded
	// Failed: an input could not be read or decoded, or changed while it
	// was read. The old snapshot stays.
	Failed
	// Refused: the new snapshot decoded but failed the shrink guard. The
	// old snapshot stays.
	Refused
)

var outcomeNames = [...]string{"unchanged", "reloaded", "failed", "refused"}

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

	seq uint64 // for a forced build, its number among the forced builds started
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

// ShrinkError is the shrink guard's refusal: the new snapshot has fewer
// than half the directories or hosts of the one being served, or many more
// repositories whose directory is missing.
type ShrinkError struct {
	OldDirectories, NewDirectories int
	OldHosts, NewHosts             int
	OldDangling, NewDangling       int // repo+arch keys without a directory
	RepoArches                     int // the new snapshot's repo+arch keys
}

func (e *ShrinkError) Error() string {
	return fmt.Sprintf("shrink guard: new snapshot has %d directories, %d hosts and %d of %d repositories without their directory; the current one %d, %d and %d; refusing (AllowShrink overrides)",
		e.NewDirectories, e.NewHosts, e.NewDangling, e.RepoArches, e.OldDirectories, e.OldHosts, e.OldDangling)
}

// checkShrink returns a *ShrinkError if next has fewer than half the
// directories or hosts of cur, or if more of its repositories newly point
// at no directory than a few (5, or 1% of them if that is more). The
// second rule catches what the first cannot: a snapshot cut at a message
// boundary decodes cleanly, and since the directories come last in the
// file, the cut takes directories that repositories point at. A real
// snapshot keeps its few dangling repositories from one version to the
// next; a false alarm keeps the old snapshot serving and shows in the
// reload metrics until an operator looks (AllowShrink overrides).
func checkShrink(cur, next snapshot.Stats) error {
	lostHalf := 2*next.Directories < cur.Directories || 2*next.Hosts < cur.Hosts
	newlyDangling := next.DanglingRepoArches - cur.DanglingRepoArches
	if !lostHalf && newlyDangling <= max(5, next.RepoArches/100) {
		return nil
	}
	return &ShrinkError{
		OldDirectories: cur.Directories, NewDirectories: next.Directories,
		OldHosts: cur.Hosts, NewHosts: next.Hosts,
		OldDangling: cur.DanglingRepoArches, NewDangling: next.DanglingRepoArches,
		RepoArches: next.RepoArches,
	}
}
