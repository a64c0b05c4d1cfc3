package httpapi

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi/accesslog"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// steps describes the selection steps of docs/protocol.md section 5 in
// order, each with the hosts it placed, or why it did not run.
func (b *explanationBuilder) steps() []stepInfo {
	traced := map[resolve.Step]*resolve.StepTrace{}
	for i := range b.t.Steps {
		traced[b.t.Steps[i].Step] = &b.t.Steps[i]
	}
	step := func(n int, name string, s resolve.Step, notRun string, note func(*resolve.StepTrace) string) stepInfo {
		st := traced[s]
		if st == nil {
			return stepInfo{Step: n, Name: name, Note: notRun}
		}
		si := stepInfo{Step: n, Name: name, Ran: true, Note: note(st)}
		for _, p := range st.Hosts {
			si.Hosts = append(si.Hosts, b.host(p.Host, &p, s))
		}
		for _, p := range st.Trimmed {
			si.Trimmed = append(si.Trimmed, b.host(p.Host, &p, s))
		}
		return si
	}
	req, t := b.x.req, b.t
	noNetblock := ""
	switch {
	case req.Country != "":
		noNetblock = "not run: country= asks for countries"
	case req.NoNetblock:
		noNetblock = "not run: netblock= is not 1"
	}
	later := ""
	if t.CountryOnly {
		later = "not run: the request is country-only"
	}
	out := []stepInfo{
		step(1, "netblocks", resolve.StepNetblocks, noNetblock, b.netblocksNote),
		step(2, "asn", resolve.StepASN, noNetblock, b.asnNote),
		b.clientCountryStep(),
		b.accessLogStep(),
		step(5, "requested countries", resolve.StepCountry, "not run: no country=", b.countryNote),
	}
	if traced[resolve.StepCountryContinent] != nil {
		out = append(out, step(5, "requested countries' continents", resolve.StepCountryContinent, "", b.countryNote))
	}
	if later == "" && traced[resolve.StepGlobal] == nil {
		later = fmt.Sprintf("not run: the steps before placed at least %d usable hosts (--minimum %d)", b.e.h.opts.Minimum, b.e.h.opts.Minimum)
	}
	return append(out,
		step(6, "geoip", resolve.StepGeoIP, "not run: the request is country-only", b.geoipNote),
		step(7, "continent", resolve.StepContinent, "not run: the request is country-only", b.continentNote),
		step(8, "global", resolve.StepGlobal, later, b.globalNote),
	)
}

func (b *explanationBuilder) netblocksNote(st *resolve.StepTrace) string {
	switch {
	case len(b.facts.Netblocks) == 0:
		return "no host netblock contains the client"
	case len(st.Hosts) == 0:
		return "the host netblocks containing the client list no host carrying the directory"
	}
	return count(len(st.Hosts), "host", "hosts") + ", longest netblock first"
}

func (b *explanationBuilder) asnNote(st *resolve.StepTrace) string {
	f := &b.facts
	switch pinned := len(b.x.snap.Mirrors().ASNHosts(f.ASN)); {
	case !f.HasRoute:
		return "the client is in no route of the global netblocks"
	case pinned == 0:
		return fmt.Sprintf("ASN %d: no host is pinned to it", f.ASN)
	case len(st.Hosts) == 0:
		return fmt.Sprintf("ASN %d: %s pinned to it, none both carrying the directory and not placed yet", f.ASN, count(pinned, "host", "hosts"))
	}
	return fmt.Sprintf("ASN %d: %s, in random order", f.ASN, count(len(st.Hosts), "host", "hosts"))
}

func (b *explanationBuilder) clientCountryStep() stepInfo {
	note := b.a.ClientCountry
	switch f := &b.facts; {
	case f.FromNetblock:
		note += " from NetblockCountryCache " + f.CountryPrefix.String()
	case f.Country != "":
		note += " from the GeoIP network " + f.CountryPrefix.String()
	default:
		note += ": neither NetblockCountryCache nor GeoIP knows the address"
	}
	return stepInfo{Step: 3, Name: "client country", Ran: true, Note: note}
}

func (b *explanationBuilder) accessLogStep() stepInfo {
	a := b.a
	if !a.Log {
		return stepInfo{Step: 4, Name: "access log", Note: "no line: the request has no repo= and arch="}
	}
	line := accesslog.AppendLine(nil, b.x.req.Client, b.x.now, a.ClientCountry, a.LogRepo, a.LogArch)
	return stepInfo{Step: 4, Name: "access log", Ran: true,
		Note: "the public port logs " + strings.TrimSuffix(string(line), "\n") + " (an explanation logs nothing)"}
}

func (b *explanationBuilder) countryNote(st *resolve.StepTrace) string {
	fallback := false
	for _, s := range b.t.Steps {
		fallback = fallback || s.Step == resolve.StepCountryContinent
	}
	switch {
	case st.Step == resolve.StepCountry && fallback:
		return "no requested country has mirrors for the directory: the other countries of their continents are tried"
	case !b.t.CountryOnly:
		return "the other countries of their continents have no mirror for the directory either"
	case len(st.Hosts) == 0:
		return "the hosts listed do not serve the client country; the request is country-only all the same"
	}
	return count(len(st.Hosts), "host", "hosts") + ", weighted by bandwidth; the request is country-only"
}

func (b *explanationBuilder) geoipNote(st *resolve.StepTrace) string {
	if len(st.Hosts) == 0 && len(st.Trimmed) == 0 {
		return fmt.Sprintf("country %s: no mirror for the directory", b.a.ClientCountry)
	}
	return fmt.Sprintf("country %s: %s, weighted by bandwidth", b.a.ClientCountry, count(len(st.Hosts), "host", "hosts"))
}

func (b *explanationBuilder) continentNote(st *resolve.StepTrace) string {
	f := &b.facts
	if f.Continent == "" {
		return fmt.Sprintf("country %s has no continent", b.a.ClientCountry)
	}
	from := "country_continent.csv"
	if f.ContinentRedirect {
		from = "CountryContinentRedirectCache"
	}
	return fmt.Sprintf("continent %s (%s), its other countries: %s, weighted by bandwidth", f.Continent, from, count(len(st.Hosts), "host", "hosts"))
}

func (b *explanationBuilder) globalNote(st *resolve.StepTrace) string {
	one, many := "usable host", "usable hosts"
	if b.x.req.HasProto {
		one, many = "host with a URL protocol= keeps", "hosts with a URL protocol= keeps"
	}
	return fmt.Sprintf("the steps before placed %s, fewer than --minimum %d: %s of the Global list, weighted by bandwidth",
		count(b.t.Usable, one, many), b.e.h.opts.Minimum, count(len(st.Hosts), "host", "hosts"))
}

// excluded describes every host that carries the directory but is not
// in the answer, and why, by host id.
func (b *explanationBuilder) excluded() []hostInfo {
	t := b.t
	chosen := map[snapshot.HostRef]bool{}
	for _, h := range t.Chosen {
		chosen[h] = true
	}
	trimmed := map[snapshot.HostRef]bool{}
	netblocksRan := false
	for _, st := range t.Steps {
		netblocksRan = netblocksRan || st.Step == resolve.StepNetblocks
		for _, p := range st.Trimmed {
			trimmed[p.Host] = true
		}
	}
	hosts, _ := b.a.Dir.Carriers()
	out := []hostInfo{}
	for _, h := range hosts {
		if b.byHost[h] != nil {
			continue
		}
		hi := b.host(h, nil, 0)
		switch {
		case chosen[h] && t.Filtered:
			hi.Reason = fmt.Sprintf("placed, but protocol=%s keeps none of its URLs", b.x.req.Protocol)
		case chosen[h]:
			hi.Reason = "placed, but it has no URL for the directory"
		case trimmed[h]:
			hi.Reason = fmt.Sprintf("it serves only the countries HostCountryAllowedCache lists for it, not the client country %s", b.a.ClientCountry)
		case hi.Private && netblocksRan:
			hi.Reason = "private (not in the directory's Global list), and no host netblock containing the client nor the client's ASN lists it"
		case hi.Private:
			hi.Reason = "private (not in the directory's Global list), and the netblock and ASN steps did not run"
		case t.CountryOnly:
			hi.Reason = "the request is country-only, and the lists of the requested countries (or of their continents) do not name it"
		default:
			hi.Reason = "no list that a step read names it, and the global step did not run"
		}
		out = append(out, hi)
	}
	slices.SortFunc(out, func(x, y hostInfo) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// count is "1 one" or "n many".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
