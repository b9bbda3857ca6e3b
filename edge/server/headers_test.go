package server_test

import (
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/edge/edgetest"
)

// checkContentSecurityPolicy fails unless policy forbids inline script
// and framing.
func checkContentSecurityPolicy(t *testing.T, path, policy string) {
	t.Helper()
	directives := map[string]string{}
	for _, directive := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), " ")
		directives[name] = value
	}
	script, ok := directives["script-src"]
	if !ok {
		script = directives["default-src"]
	}
	if script == "" || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*") {
		t.Errorf("GET %s: script sources %q allow inline, eval or any host (policy %q)", path, script, policy)
	}
	if directives["frame-ancestors"] != "'none'" {
		t.Errorf("GET %s: frame-ancestors = %q, want 'none' (policy %q)", path, directives["frame-ancestors"], policy)
	}
}

func TestSecurityHeadersHSTSAndCSP(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	for _, path := range []string{"/api/v1/catalogue", "/api/v1/nothing", "/", "/registration/new"} {
		response := e.Get(t, path, "")
		if got := response.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=31536000") {
			t.Errorf("GET %s: Strict-Transport-Security = %q, want max-age of a year", path, got)
		}
		checkContentSecurityPolicy(t, path, response.Header.Get("Content-Security-Policy"))
	}
}
