package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// databaseURL returns the DB_URL to connect to: the environment's if set,
// else the configuration file's. As with the Rust generator (whose dotenv
// loader never overrides a variable already set), a missing file is no
// error when the environment has DB_URL.
func databaseURL(path string, getenv func(string) string) (string, error) {
	if u := getenv("DB_URL"); u != "" {
		return u, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("configuration file %s does not exist and DB_URL is not set", path)
	}
	if err != nil {
		return "", fmt.Errorf("reading the configuration file: %w", err)
	}
	vars, err := parseDotenv(data)
	if err != nil {
		return "", fmt.Errorf("configuration file %s: %w", path, err)
	}
	u := vars["DB_URL"]
	if u == "" {
		return "", fmt.Errorf("configuration file %s sets no DB_URL", path)
	}
	return u, nil
}

// parseDotenv reads KEY=VALUE lines, dotenv style: blank lines and lines
// starting with # are skipped, an optional "export " prefix is dropped,
// and a value may be wrapped in single or double quotes. A later line
// overrides an earlier one.
func parseDotenv(data []byte) (map[string]string, error) {
	vars := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		vars[key] = value
	}
	return vars, sc.Err()
}
