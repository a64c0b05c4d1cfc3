package main

import (
	"encoding/json"
	"os"
	"regexp"
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
