// Package inputflags defines the command-line flags that name the four
// input files, with production's names and defaults, for every command
// that reads them: mirrorlist-server, and mirrorlist-snapshot, whose
// check must take the very flags the server takes.
package inputflags

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// Defaults returns production's paths of the inputs: the MirrorManager
// back end's directory for three of them, the GeoIP package's for the
// database.
func Defaults() snapshot.Paths {
	p := snapshot.PathsIn("/var/lib/mirrormanager")
	p.GeoIP = filepath.Join("/usr/share/GeoIP", snapshot.GeoIPFile)
	return p
}

// Define adds -c/--cache, -g/--global_netblocks, --cccsv and --geoip to
// fs, setting p's fields, with the Defaults.
func Define(fs *pflag.FlagSet, p *snapshot.Paths) {
	def := Defaults()
	fs.StringVarP(&p.Cache, "cache", "c", def.Cache, "the cache `FILE` (MirrorManager's protobuf, mirrorlist_cache.proto)")
	fs.StringVarP(&p.Routes, "global_netblocks", "g", def.Routes, "the global netblocks `FILE` (prefix to ASN)")
	fs.StringVar(&p.Continents, "cccsv", def.Continents, "the country to continent CSV `FILE`")
	fs.StringVar(&p.GeoIP, "geoip", def.GeoIP, "the GeoIP2 country database `FILE`")
}
