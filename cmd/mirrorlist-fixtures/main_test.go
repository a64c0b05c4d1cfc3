package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorlist-go/mirrorlist-server/fixtures"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"tiny", []string{"-scale", "tiny", "-out", dir}, false},
		{"no output directory", []string{"-scale", "tiny"}, true},
		{"unknown scale", []string{"-scale", "huge", "-out", dir}, true},
		{"stray argument", []string{"-out", dir, "extra"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("run(%q) = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if err == nil && !strings.Contains(stdout.String(), "generated tiny set") {
				t.Errorf("output %q does not report the generation", stdout.String())
			}
		})
	}
	want, err := fixtures.Generate(fixtures.Config{Scale: fixtures.ScaleTiny})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, fixtures.CacheFile))
	if err != nil || !bytes.Equal(got, want.Snapshot) {
		t.Errorf("written snapshot differs from Generate's (read error %v)", err)
	}
}
