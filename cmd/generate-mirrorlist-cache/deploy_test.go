package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployUnit parses the ExecStart of deploy/generate-mirrorlist-cache
// .service with the command's own flag set, so that a renamed flag breaks
// here rather than on a timer at night, and has systemd-analyze verify the
// service (its binaries replaced by /bin/true) and its timer where systemd
// is installed.
func TestDeployUnit(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/generate-mirrorlist-cache.service")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(unit), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^ExecStart=(\S+)(.*)$`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatal("no ExecStart")
	}
	if filepath.Base(m[1]) != "generate-mirrorlist-cache" {
		t.Errorf("ExecStart runs %s", m[1])
	}
	o := new(options)
	if err := newFlagSet(o).Parse(strings.Fields(m[2])); err != nil {
		t.Fatalf("ExecStart flags: %v", err)
	}
	// The unit stages the snapshot beside the default outfile; its
	// ExecStartPost lines check it and rename it there (the chain is
	// cmd/mirrorlist-snapshot's TestDeployUnitPublishes).
	if o.outfile != defaultOutfile+".staged" || o.config != defaultConfig {
		t.Errorf("ExecStart writes %s with %s; want %s.staged and the default %s", o.outfile, o.config, defaultOutfile, defaultConfig)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: units not verified")
		return
	}
	dir := t.TempDir()
	service := regexp.MustCompile(`/usr/local/bin/[a-z-]+`).ReplaceAllString(string(unit), "/bin/true")
	timer, err := os.ReadFile("../../deploy/generate-mirrorlist-cache.timer")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"generate-mirrorlist-cache.service": service, "generate-mirrorlist-cache.timer": string(timer)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := exec.Command(analyze, "verify", filepath.Join(dir, "generate-mirrorlist-cache.service"), filepath.Join(dir, "generate-mirrorlist-cache.timer")).CombinedOutput()
	if len(out) > 0 {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
}
