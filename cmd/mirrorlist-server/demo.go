package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
	"github.com/mirrorlist-go/mirrorlist-server/resolve"
	"github.com/mirrorlist-go/mirrorlist-server/snapshot"
)

// prepareDemo writes the committed small fixture set into dir and points
// the options at it. Unless --log was given, the access log goes to dir
// too, so a demo needs no write access to /var/log.
func prepareDemo(o *options, dir string) error {
	set, err := fixtures.ReadFS(fixtures.Small, "small")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := set.WriteDir(dir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	o.paths = snapshot.PathsIn(dir)
	if !o.logPathSet {
		o.logPath = filepath.Join(dir, "mirrorlist.log")
	}
	return nil
}

// printDemo prints a few requests to try against the demo server, where
// its files are, and the admin endpoints if there is an admin listener.
func printDemo(w io.Writer, snap *snapshot.Snapshot, addr, admin net.Addr, o *options) {
	base := "http://" + dialable(addr)
	repo, arch := demoRepo(snap.Mirrors().RepoArchKeys())
	fmt.Fprintf(w, "Serving the built-in demo data on %s. Try:\n\n", base)
	if repo == "" {
		fmt.Fprintf(w, "  curl '%s/mirrorlist?path=pub'\n", base)
	} else {
		q := "repo=" + repo + "&arch=" + arch
		fmt.Fprintf(w, "  curl '%s/mirrorlist?%s'\n", base, q)
		fmt.Fprintf(w, "  curl '%s/metalink?%s'\n", base, q)
		fmt.Fprintf(w, "  curl '%s/mirrorlist?%s&country=global&protocol=https'\n", base, q)
		fmt.Fprintf(w, "  curl -i '%s/mirrorlist?%s&redirect=1'\n", base, q)
		if dir, ok := snap.Mirrors().RepoArch(repo, arch); ok {
			fmt.Fprintf(w, "  curl '%s/mirrorlist?path=%s'\n", base, dir)
		}
	}
	fmt.Fprintf(w, "  curl '%s/mirrorlist?repo=nonexistent&arch=x86_64'   # lists the repositories\n", base)
	fmt.Fprintf(w, "  curl '%s/readyz'\n", base)
	if admin != nil {
		abase := "http://" + dialable(admin)
		fmt.Fprintf(w, "  curl '%s/metrics'\n", abase)
		fmt.Fprintf(w, "  curl -X POST '%s/-/reload'\n", abase)
		if repo != "" {
			fmt.Fprintf(w, "  curl '%s/-/explain/mirrorlist?repo=%s&arch=%s&format=text'   # why that answer\n", abase, repo, arch)
		}
	}
	fmt.Fprintf(w, "\nThe data is in %s: replace a file there (or send SIGHUP) and the server reloads it.\n",
		filepath.Dir(o.paths.Cache))
	if o.logPath != "" {
		fmt.Fprintf(w, "Access log: %s\n", o.logPath)
	}
	fmt.Fprintln(w)
}

// demoRepo picks an example repository from the "repo+arch" keys,
// preferring an x86_64 one.
func demoRepo(keys []string) (repo, arch string) {
	for _, k := range keys {
		if r, a, ok := splitRepoArch(k); ok && a == "x86_64" {
			return r, a
		}
	}
	for _, k := range keys {
		if r, a, ok := splitRepoArch(k); ok {
			return r, a
		}
	}
	return "", ""
}

// splitRepoArch splits a "repo+arch" key as the server does, and
// refuses a key with an empty repo or arch: the demo prints a request a
// reader can try.
func splitRepoArch(key string) (repo, arch string, ok bool) {
	repo, arch, ok = resolve.SplitRepoArch(key)
	return repo, arch, ok && repo != "" && arch != ""
}

// dialable returns host:port for a client to connect to addr: a wildcard
// listen address becomes the loopback address of its family.
func dialable(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return addr.String()
	}
	ip := ap.Addr()
	switch {
	case ip.IsUnspecified() && ip.Is4():
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip.IsUnspecified():
		ip = netip.IPv6Loopback()
	}
	return netip.AddrPortFrom(ip, ap.Port()).String()
}
