package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/mirrorlist-go/mirrorlist-server/reload"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// cacheShape is what a cache file holds, in counts: inspect prints it,
// and check prints it with the other inputs' counts.
type cacheShape struct {
	Time              uint64   `json:"time"`
	Directories       int      `json:"directories"`
	Hosts             int      `json:"hosts"`
	HCUrls            int      `json:"hcurls"`
	RepoArches        int      `json:"repo_arches"`
	DanglingRepoArchs int      `json:"repo_arches_without_directory"`
	FileDirs          int      `json:"file_detail_directories"`
	HostNetblocks     int      `json:"host_netblocks"`
	CountryNetblocks  int      `json:"country_netblocks"`
	HostSets          hostSets `json:"distinct_host_sets"`
	// The mean hosts per directory: carrying it (ByHostId), and public
	// (Global).
	MeanCarriers float64  `json:"mean_carriers"`
	MeanGlobal   float64  `json:"mean_global"`
	WarningCount int      `json:"warning_count"`
	Warnings     []string `json:"warnings"` // the first few, as the server logs them
}

// hostSets counts the distinct host lists the directories share: what
// makes a snapshot cheap or expensive to index.
type hostSets struct {
	Global    int `json:"global"`
	ByCountry int `json:"by_country"`
	ByHostID  int `json:"by_host_id"`
}

// shapeOf measures a cache file's part of a snapshot.
func shapeOf(m *snapshot.Mirrors) cacheShape {
	st := m.Stats()
	sh := cacheShape{
		Time: st.Time, Directories: st.Directories, Hosts: st.Hosts, HCUrls: st.HCUrls,
		RepoArches: st.RepoArches, DanglingRepoArchs: st.DanglingRepoArches, FileDirs: st.FileDirs,
		HostNetblocks: st.HostPrefixes, CountryNetblocks: st.CountryPrefixes,
		WarningCount: st.WarningCount, Warnings: st.Warnings,
	}
	if sh.Warnings == nil {
		sh.Warnings = []string{}
	}
	global, byCountry, byHost := make(map[string]bool), make(map[string]bool), make(map[string]bool)
	var key []byte
	carriers, globals := 0, 0
	for _, d := range m.Directories() {
		key = appendRefs(key[:0], d.Global())
		global[string(key)] = true
		globals += len(d.Global())

		key = key[:0]
		for _, cc := range d.Countries() {
			key = append(append(key, cc...), 0)
			key = append(appendRefs(key, d.ByCountry(cc)), 0xff)
		}
		byCountry[string(key)] = true

		key = key[:0]
		for h := range d.AllCarriers() {
			key = binary.AppendUvarint(key, uint64(h))
			carriers++
		}
		byHost[string(key)] = true
	}
	sh.HostSets = hostSets{Global: len(global), ByCountry: len(byCountry), ByHostID: len(byHost)}
	if sh.Directories > 0 {
		sh.MeanCarriers = float64(carriers) / float64(sh.Directories)
		sh.MeanGlobal = float64(globals) / float64(sh.Directories)
	}
	return sh
}

func appendRefs(dst []byte, refs []snapshot.HostRef) []byte {
	for _, h := range refs {
		dst = binary.AppendUvarint(dst, uint64(h))
	}
	return dst
}

// write prints the shape, one count a line.
func (sh cacheShape) write(w io.Writer) {
	line(w, "snapshot time", "%d (%s)", sh.Time, time.Unix(int64(sh.Time), 0).UTC().Format(time.RFC3339))
	line(w, "directories", "%d", sh.Directories)
	line(w, "hosts", "%d", sh.Hosts)
	line(w, "hcurls", "%d", sh.HCUrls)
	line(w, "repo+arch", "%d (%d without their directory)", sh.RepoArches, sh.DanglingRepoArchs)
	line(w, "file details", "%d directories", sh.FileDirs)
	line(w, "host netblocks", "%d", sh.HostNetblocks)
	line(w, "country netblocks", "%d", sh.CountryNetblocks)
	line(w, "distinct host sets", "%d Global, %d ByCountry, %d ByHostId", sh.HostSets.Global, sh.HostSets.ByCountry, sh.HostSets.ByHostID)
	line(w, "hosts per directory", "%.1f carrying, %.1f in Global", sh.MeanCarriers, sh.MeanGlobal)
}

// writeWarnings prints the warning count and the first warnings.
func writeWarnings(w io.Writer, count int, warnings []string) {
	line(w, "warnings", "%d", count)
	for _, s := range warnings {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

// line prints one "name  value" line, the names aligned.
func line(w io.Writer, name, format string, args ...any) {
	fmt.Fprintf(w, "%-20s %s\n", name, fmt.Sprintf(format, args...))
}

// loadCache reads a cache file alone, with the checks a build makes
// before it reads an input.
func loadCache(ctx context.Context, path string) (*snapshot.Mirrors, error) {
	if err := reload.CheckInput(path); err != nil {
		return nil, err
	}
	return snapshot.LoadMirrors(ctx, path)
}
