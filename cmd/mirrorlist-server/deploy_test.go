package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/httpapi"
)

// The deployment files pass flags to this binary; TestDeployFlags parses
// them with the binary's own flag set, so that a renamed or removed flag
// breaks the build here rather than a container at start.

// dockerArgs returns the exec-form arrays of the Dockerfile's ENTRYPOINT
// and HEALTHCHECK CMD, without the program name.
func dockerArgs(t *testing.T, text string) map[string][]string {
	t.Helper()
	joined := strings.ReplaceAll(text, "\\\n", " ")
	out := make(map[string][]string)
	for _, m := range regexp.MustCompile(`(?m)^(ENTRYPOINT|HEALTHCHECK .*?CMD)\s+(\[.*\])\s*$`).FindAllStringSubmatch(joined, -1) {
		var argv []string
		if err := json.Unmarshal([]byte(m[2]), &argv); err != nil {
			t.Fatalf("Dockerfile %s: %v", m[1], err)
		}
		out["Dockerfile "+strings.Fields(m[1])[0]] = argv[1:]
	}
	return out
}

// execStartArgs returns the flags of a systemd unit's ExecStart.
func execStartArgs(text string) []string {
	joined := strings.ReplaceAll(text, "\\\n", " ")
	m := regexp.MustCompile(`(?m)^ExecStart=\S+(.*)$`).FindStringSubmatch(joined)
	if m == nil {
		return nil
	}
	return strings.Fields(m[1])
}

// containerArgs returns the items of the first args list of a Kubernetes
// manifest: the server container's (the sync job's rsync has a command
// list instead).
func containerArgs(text string) []string {
	_, rest, ok := strings.Cut(text, "args:\n")
	if !ok {
		return nil
	}
	var args []string
	item := regexp.MustCompile(`^\s+- (\S+)\s*$`)
	for line := range strings.Lines(rest) {
		m := item.FindStringSubmatch(line)
		if m == nil {
			break
		}
		args = append(args, m[1])
	}
	return args
}

// templateArgs returns the flags of the RPM's template unit's ExecStart
// for one instance: the variables of its configuration file (conf, as the
// RPM writes it from mirrorlist.conf.in) substituted as systemd substitutes
// them, ${NAME} inside a word and $NAME as words of their own.
func templateArgs(t *testing.T, unit, conf string) []string {
	t.Helper()
	env := make(map[string]string)
	for line := range strings.Lines(conf) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("instance configuration: %q is no assignment", line)
		}
		env[k] = strings.Trim(v, `"`)
	}
	lookup := func(k string) string {
		v, ok := env[k]
		if !ok {
			t.Errorf("template unit: $%s is not set by the instance configuration", k)
		}
		return v
	}
	var args []string
	for _, w := range execStartArgs(unit) {
		if name, ok := strings.CutPrefix(w, "$"); ok && !strings.HasPrefix(name, "{") {
			args = append(args, strings.Fields(lookup(name))...)
			continue
		}
		args = append(args, os.Expand(w, lookup))
	}
	return args
}

// TestDeployTemplate checks that the template unit with the RPM's
// mirrorlist1.conf runs the server as Fedora's mirrorlist1 runs: its port,
// data directory, GeoIP database and log, and an admin listener.
func TestDeployTemplate(t *testing.T) {
	conf := strings.ReplaceAll(readRepoFile(t, "deploy/rpm/mirrorlist.conf.in"), "@N@", "1")
	args := templateArgs(t, readRepoFile(t, "deploy/rpm/mirrorlist-server@.service"), conf)
	o, _, err := parseFlags(args)
	if err != nil {
		t.Fatalf("template ExecStart %q: %v", args, err)
	}
	const data = "/srv/mirrorlist/data/mirrorlist1/"
	got := []string{o.listen, strconv.Itoa(int(o.port)), o.paths.Cache, o.paths.Routes, o.paths.Continents, o.paths.GeoIP, o.logPath, o.adminListen}
	want := []string{"127.0.0.1", "18081", data + "mirrorlist_cache.proto", data + "global_netblocks.txt", data + "country_continent.csv",
		"/usr/share/GeoIP/GeoLite2-Country.mmdb", "/var/log/mirrormanager/mirrorlist1.service.log", "127.0.0.1:19091"}
	if !slices.Equal(got, want) {
		t.Errorf("mirrorlist1 runs with\n%q\nwant\n%q", got, want)
	}
}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeployFlags(t *testing.T) {
	cmds := dockerArgs(t, readRepoFile(t, "Dockerfile"))
	cmds["systemd ExecStart"] = execStartArgs(readRepoFile(t, "deploy/mirrorlist-server.service"))
	cmds["Kubernetes args"] = containerArgs(readRepoFile(t, "deploy/kubernetes/mirrorlist.yaml"))
	for _, name := range []string{"Dockerfile ENTRYPOINT", "Dockerfile HEALTHCHECK", "systemd ExecStart", "Kubernetes args"} {
		args, ok := cmds[name]
		if !ok || len(args) == 0 {
			t.Errorf("%s: no flags found", name)
			continue
		}
		o, _, err := parseFlags(args)
		if err != nil {
			t.Errorf("%s %q: %v", name, args, err)
			continue
		}
		if name != "Dockerfile HEALTHCHECK" && o.adminListen == "" {
			t.Errorf("%s: no --admin-listen, but the file expects the admin port", name)
		}
		if name == "Dockerfile HEALTHCHECK" && !strings.HasSuffix(o.probe, httpapi.ReadyPath) {
			t.Errorf("%s: probes %q, want /readyz", name, o.probe)
		}
	}
}
