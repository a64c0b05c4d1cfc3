package httpapi

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// appendText appends the explanation for a person (format=text): the
// same facts as the JSON, a section each, hosts one a line with their
// URLs under them, and the answer's body last, as the public port writes
// it.
func (ex *explanation) appendText(b []byte) []byte {
	b = fmt.Appendf(b, "explain %s?%s\n\n", ex.Kind, ex.Query)
	if s := ex.Snapshot; s != nil {
		b = fmt.Appendf(b, "snapshot: generation %d, made %s (%d)\n\n", s.Generation, s.TimeUTC, s.Time)
	} else {
		b = append(b, "snapshot: none loaded yet\n\n"...)
	}
	if ex.Client != nil {
		b = ex.Client.appendText(b)
	}
	b = ex.Request.appendText(b)
	if len(ex.Steps) > 0 {
		b = append(b, "steps:\n"...)
		for i := range ex.Steps {
			b = ex.Steps[i].appendText(b)
		}
		b = append(b, '\n')
	}
	if len(ex.Excluded) > 0 {
		b = appendExcluded(b, ex.Excluded)
	}
	return ex.Answer.appendText(b)
}

// appendExcluded appends the excluded hosts grouped by reason, in the
// order the reasons first come, each host as its id and country (and
// the countries it allows, if it is restricted), wrapped: at Fedora's
// scale there are hundreds. The JSON has their URLs.
func appendExcluded(b []byte, hosts []hostInfo) []byte {
	b = fmt.Appendf(b, "excluded (carry the directory, not in the answer): %s\n", count(len(hosts), "host", "hosts"))
	var reasons []string
	byReason := map[string][]string{}
	for i := range hosts {
		h := &hosts[i]
		if byReason[h.Reason] == nil {
			reasons = append(reasons, h.Reason)
		}
		short := fmt.Sprintf("%d %s", h.ID, h.Country)
		if len(h.Allowed) > 0 {
			short += " (allows " + strings.Join(h.Allowed, ",") + ")"
		}
		byReason[h.Reason] = append(byReason[h.Reason], short)
	}
	const width = 100
	for _, r := range reasons {
		list := byReason[r]
		b = fmt.Appendf(b, "  %s: %s\n", r, count(len(list), "host", "hosts"))
		line := 0
		for i, h := range list {
			if i > 0 {
				b = append(b, ',')
				line++
			}
			if line == 0 || line+1+len(h) > width {
				if i > 0 {
					b = append(b, '\n')
				}
				b = append(b, "     "...)
				line = 5
			}
			b = append(b, ' ')
			b = append(b, h...)
			line += 1 + len(h)
		}
		b = append(b, '\n')
	}
	return append(b, '\n')
}

func (c *clientInfo) appendText(b []byte) []byte {
	if c.Address == "" {
		return fmt.Appendf(b, "client: %q (from %s) does not parse\n\n", c.Text, c.From)
	}
	b = fmt.Appendf(b, "client: %s (from %s)\n", c.Address, c.From)
	switch c.CountrySource {
	case "":
		b = append(b, "  country: none (N/A)\n"...)
	case "NetblockCountryCache":
		b = fmt.Appendf(b, "  country: %s, NetblockCountryCache %s (GeoIP says %q, network %s)\n", c.Country, c.CountryPrefix, c.GeoIPCountry, c.GeoIPNetwork)
	default:
		b = fmt.Appendf(b, "  country: %s, GeoIP network %s\n", c.Country, c.CountryPrefix)
	}
	if c.Continent != "" {
		b = fmt.Appendf(b, "  continent: %s (%s)\n", c.Continent, c.ContinentFrom)
	} else {
		b = append(b, "  continent: none\n"...)
	}
	if c.RouteRange != "" {
		b = fmt.Appendf(b, "  route: ASN %d, range %s\n", c.ASN, c.RouteRange)
	} else {
		b = append(b, "  route: none\n"...)
	}
	if len(c.Netblocks) == 0 {
		return append(b, "  host netblocks: none\n\n"...)
	}
	for _, nb := range c.Netblocks {
		b = fmt.Appendf(b, "  host netblock: %s, hosts %s\n", nb.Prefix, joinInts(nb.Hosts))
	}
	return append(b, '\n')
}

func (r *requestInfo) appendText(b []byte) []byte {
	b = append(b, "request:"...)
	for _, f := range []struct {
		key string
		val *string
	}{{"repo", r.Repo}, {"arch", r.Arch}, {"path", r.Path}, {"protocol", r.Protocol}} {
		if f.val != nil {
			b = fmt.Appendf(b, " %s=%q", f.key, *f.val)
		}
	}
	if r.Version != "" {
		b = fmt.Appendf(b, " version=%q", r.Version)
	}
	if r.Country != "" {
		b = fmt.Appendf(b, " country=%q", r.Country)
	}
	for _, f := range []struct {
		name string
		on   *bool
	}{{"no-netblock", negate(r.Netblock)}, {"redirect", r.Redirect}, {"time", r.Time}} {
		if f.on != nil && *f.on {
			b = append(b, ' ')
			b = append(b, f.name...)
		}
	}
	if r.Repo == nil && r.Arch == nil && r.Path == nil && r.Protocol == nil && r.Version == "" && r.Country == "" {
		b = append(b, " (nothing the server uses)"...)
	}
	b = append(b, '\n')
	if r.Rule != "" {
		b = fmt.Appendf(b, "  rule: %s", r.Rule)
		if r.RepoArch != "" {
			b = fmt.Appendf(b, ", %s", r.RepoArch)
		}
		if r.SourceArch {
			b = append(b, " (the arch is source: the repository's name has \"source\")"...)
		}
		if r.RepoRedirect != "" {
			b = fmt.Appendf(b, " (repository redirect %s)", r.RepoRedirect)
		}
		b = append(b, '\n')
	}
	if r.Directory != "" || r.File != "" {
		b = fmt.Appendf(b, "  directory: %s\n", r.Directory)
	}
	if r.File != "" {
		b = fmt.Appendf(b, "  file: %s\n", r.File)
	}
	if r.EarlyAnswer != "" {
		b = fmt.Appendf(b, "  early answer: %s: %s\n", r.EarlyAnswer, r.Why)
	}
	return append(b, '\n')
}

func (s *stepInfo) appendText(b []byte) []byte {
	b = fmt.Appendf(b, "  %d %s: %s\n", s.Step, s.Name, s.Note)
	for i := range s.Hosts {
		b = s.Hosts[i].appendText(b, "      ")
	}
	if len(s.Trimmed) > 0 {
		b = append(b, "      trimmed, they do not serve the client country:\n"...)
	}
	for i := range s.Trimmed {
		b = s.Trimmed[i].appendText(b, "        ")
	}
	return b
}

// appendText appends a host's line, indented, and its URLs under it.
func (h *hostInfo) appendText(b []byte, indent string) []byte {
	b = fmt.Appendf(b, "%shost %d  %s  weight %d", indent, h.ID, h.Country, h.Weight)
	if h.Private {
		b = append(b, "  private"...)
	}
	if len(h.Allowed) > 0 {
		b = fmt.Appendf(b, "  allowed %s", strings.Join(h.Allowed, ","))
	}
	switch {
	case h.Netblock != "":
		b = fmt.Appendf(b, "  netblock %s", h.Netblock)
	case h.ASN != 0:
		b = fmt.Appendf(b, "  asn %d", h.ASN)
	case h.List != "":
		b = fmt.Appendf(b, "  list %s", h.List)
	}
	if h.Preference != 0 {
		b = fmt.Appendf(b, "  preference %d", h.Preference)
	}
	b = append(b, '\n')
	for _, u := range h.URLs {
		b = fmt.Appendf(b, "%s  listed %s\n", indent, u)
	}
	for _, u := range h.OtherURLs {
		b = fmt.Appendf(b, "%s  also   %s\n", indent, u)
	}
	return b
}

func (a *answerInfo) appendText(b []byte) []byte {
	b = fmt.Appendf(b, "answer: %d", a.Status)
	if a.FoundVia != "" {
		b = fmt.Appendf(b, ", %s, found via %s", count(a.Mirrors, "mirror", "mirrors"), a.FoundVia)
	}
	if a.RedirectHost != 0 {
		b = fmt.Appendf(b, ", redirect to host %d", a.RedirectHost)
	}
	b = fmt.Appendf(b, ", seed %d\n", a.Seed)
	for _, k := range slices.Sorted(maps.Keys(a.Headers)) {
		b = fmt.Appendf(b, "  %s: %s\n", k, a.Headers[k])
	}
	if len(a.Body) == 0 {
		return b
	}
	b = append(b, "-- body --\n"...)
	b = append(b, a.Body...)
	if !strings.HasSuffix(a.Body, "\n") {
		b = append(b, "\n-- end of body, without a final newline --\n"...)
	}
	return b
}

func negate(b *bool) *bool {
	if b == nil {
		return nil
	}
	return ptr(!*b)
}

func joinInts(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
