package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Continents is the part of a Snapshot built from the country→continent CSV.
// The snapshot's continent redirects are applied on top of it by Assemble.
type Continents struct {
	continentOf map[string]string
	warnings    []string
}

// Len returns how many countries the CSV gives a continent.
func (c *Continents) Len() int { return len(c.continentOf) }

// maxDupsNamed is how many duplicate countries the warning names.
const maxDupsNamed = 5

// LoadContinents reads the country→continent CSV at path.
func LoadContinents(path string) (*Continents, error) {
	data, err := readNonEmpty(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseContinents(data)
	if err != nil {
		return nil, fmt.Errorf("continents %s: %w", path, err)
	}
	return c, nil
}

// ParseContinents parses "CC,CONTINENT" lines. Lines whose first field is
// not exactly two characters (the header line) are skipped, as production
// does; pseudo-countries such as "A1,--" are kept.
func ParseContinents(data []byte) (*Continents, error) {
	c := &Continents{continentOf: make(map[string]string)}
	var dups []string // the first few duplicate countries, for the warning
	ndups := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		cc, cont, ok := bytes.Cut(bytes.TrimSpace(line), []byte{','})
		cc = bytes.Trim(bytes.TrimSpace(cc), `"`)
		cont = bytes.Trim(bytes.TrimSpace(cont), `"`)
		if !ok || len(cc) != 2 || len(cont) == 0 {
			continue
		}
		key := strings.ToUpper(string(cc))
		if _, dup := c.continentOf[key]; dup {
			if ndups < maxDupsNamed {
				dups = append(dups, key)
			}
			ndups++
		}
		c.continentOf[key] = strings.ToUpper(string(cont))
	}
	// One warning for all duplicates: a generator stuck in a loop could
	// repeat a line a million times, and the warnings are logged.
	if ndups > 0 {
		c.warnings = append(c.warnings, fmt.Sprintf("continents: %d duplicate countries (last one wins): %s", ndups, strings.Join(dups, ", ")))
	}
	if len(c.continentOf) == 0 {
		return nil, errors.New(`no usable line (expected lines like "DE,EU")`)
	}
	return c, nil
}
