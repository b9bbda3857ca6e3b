package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// keyPatterns find the environment variables the binaries read: through a
// config.Reader, through os.Getenv, through the simulators' option table,
// and through a named constant such as release.PublicKeyVariable.
var keyPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\.(?:String|Int|Duration|Bool)\("([A-Z][A-Z0-9_]+)"`),
	regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]+)"\)`),
	regexp.MustCompile(`\benv:\s*"([A-Z][A-Z0-9_]+)"`),
	regexp.MustCompile(`Variable\s*=\s*"([A-Z][A-Z0-9_]+)"`),
}

// internalKeys are read by code but set only by other code, never by people.
var internalKeys = map[string]string{
	"EDGETEST_SNAPSHOT_FILE": "a test binary passes its snapshot to its own fuzzing workers",
}

// TestEveryKeyIsDocumented fails when a binary reads a configuration key
// that the README's configuration table does not name, so the table stays
// the one place an operator looks.
func TestEveryKeyIsDocumented(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	err = filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() {
			switch entry.Name() {
			case "node_modules", ".git", "bin", ".run", "e2e":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		source, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, pattern := range keyPatterns {
			for _, match := range pattern.FindAllSubmatch(source, -1) {
				keys[string(match[1])] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 40 {
		t.Fatalf("found only %d configuration keys; the patterns no longer match how keys are read", len(keys))
	}
	var missing []string
	for key, path := range keys {
		if _, internal := internalKeys[key]; !internal && !documented(string(readme), key) {
			missing = append(missing, key+" (read in "+path+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md's configuration table does not name %d keys:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// documented reports whether key appears in the README as `KEY`, or is
// covered by a pattern row such as `SIM_<SERVICE>_LATENCY`.
func documented(readme, key string) bool {
	if strings.Contains(readme, "`"+key+"`") {
		return true
	}
	for _, service := range []string{"IDENTITY", "CERTIFICATES", "DATA"} {
		if pattern := strings.Replace(key, "_"+service+"_", "_<SERVICE>_", 1); pattern != key &&
			strings.Contains(readme, "`"+pattern+"`") {
			return true
		}
	}
	return false
}
