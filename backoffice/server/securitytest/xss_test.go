package securitytest

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
)

// markup is a stored cross-site scripting attempt: an image whose error
// handler runs a script.
const markup = `<img src=x onerror=alert(1)>`

// TestStoredMarkupIsData stores markup as a staff member's name and checks
// that every API that returns it returns it as JSON data, with headers that
// stop a browser from running it. Dictionary labels and home addresses
// reject markup outright.
func TestStoredMarkupIsData(t *testing.T) {
	h := newHarness(t, nil)
	security := h.signIn(t, securityName)
	auditor := h.signIn(t, auditorName)
	walker := h.signIn(t, xuhuiAdmin)

	created := security.send(t, request{method: http.MethodPost, path: "/api/v1/staff",
		body: `{"username": "markup.name", "displayName": "` + markup + `", "role": "auditor"}`})
	created.expect(t, "create an account named with markup", http.StatusCreated, "")

	t.Run("staff list", func(t *testing.T) {
		answer := security.get(t, "/api/v1/staff?username=markup.name")
		answer.expect(t, "staff list", http.StatusOK, "")
		expectSafeJSON(t, answer)
		var body struct {
			Items []struct {
				DisplayName string `json:"displayName"`
			} `json:"items"`
		}
		if err := json.Unmarshal(answer.body, &body); err != nil {
			t.Fatalf("staff list %s does not decode: %v", answer.body, err)
		}
		if len(body.Items) != 1 || body.Items[0].DisplayName != markup {
			t.Errorf("staff list items = %+v, want one named %q, unchanged", body.Items, markup)
		}
	})

	t.Run("audit trail", func(t *testing.T) {
		answer := auditor.get(t, "/api/v1/audit-events?action=staff.create")
		answer.expect(t, "audit events", http.StatusOK, "")
		expectSafeJSON(t, answer)
		var body struct {
			Items []struct {
				After json.RawMessage `json:"after"`
			} `json:"items"`
		}
		if err := json.Unmarshal(answer.body, &body); err != nil {
			t.Fatalf("audit events %s do not decode: %v", answer.body, err)
		}
		found := false
		for _, item := range body.Items {
			var after map[string]any
			if json.Unmarshal(item.After, &after) == nil && after["displayName"] == markup {
				found = true
			}
		}
		if !found {
			t.Errorf("no staff.create event has the display name %q as data: %s", markup, answer.body)
		}
	})

	t.Run("dictionary label", func(t *testing.T) {
		call := ownItemRequest(h, "markup-label")
		call.body = `{"value": "markup-label", "label": "` + markup + `"}`
		walker.send(t, call).expect(t, "item labelled with markup", http.StatusBadRequest, "label_markup")
		if n := h.count(t, `SELECT count(*) FROM dictionary_item WHERE value = 'markup-label'`); n != 0 {
			t.Errorf("the rejected item was stored %d times", n)
		}
	})

	t.Run("home address", func(t *testing.T) {
		registration := h.env.ShanghaiChild(t, 7, xuhui, xuhui)
		registration.Residence.Address = markup
		_, err := h.env.Service.Register(context.Background(), backofficetest.Subject(7), registration)
		if err == nil {
			t.Fatalf("the edge accepted the home address %q", markup)
		}
	})

	t.Run("admin page policy", func(t *testing.T) {
		answer := h.anonymous().get(t, "/")
		policy := answer.header.Get("Content-Security-Policy")
		scripts := directive(policy, "script-src")
		if scripts == "" {
			scripts = directive(policy, "default-src")
		}
		if scripts != "'self'" {
			t.Errorf("admin page script sources = %q (policy %q), want only 'self', so no inline script runs", scripts, policy)
		}
	})
}

// expectSafeJSON checks the headers that keep a browser from running a
// JSON response's data: a JSON type, no type sniffing, and a policy that
// runs no script.
func expectSafeJSON(t *testing.T, answer response) {
	t.Helper()
	if contentType := answer.header.Get("Content-Type"); !strings.HasPrefix(contentType, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", contentType)
	}
	if sniff := answer.header.Get("X-Content-Type-Options"); sniff != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", sniff)
	}
	policy := answer.header.Get("Content-Security-Policy")
	if directive(policy, "default-src") != "'none'" || directive(policy, "script-src") != "" {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none' and no script-src", policy)
	}
}

// directive returns the sources of one directive of a
// Content-Security-Policy header, or "" when the policy lacks it.
func directive(policy, name string) string {
	for _, part := range strings.Split(policy, ";") {
		fields := strings.Fields(part)
		if len(fields) > 0 && fields[0] == name {
			return strings.Join(fields[1:], " ")
		}
	}
	return ""
}

// htmlSinks are the ways a Vue 3 and Element Plus page can turn stored text
// into markup. Vue escapes text in templates, so without these a stored
// name shows as text.
var htmlSinks = []string{"v-html", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "dangerouslyUseHTMLString"}

// TestAdminAppRendersTextOnly checks the admin app's sources for the ways
// of rendering stored text as markup.
func TestAdminAppRendersTextOnly(t *testing.T) {
	root := filepath.Join("..", "..", "web", "app", "src")
	files := 0
	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() || !(strings.HasSuffix(path, ".vue") || strings.HasSuffix(path, ".js")) {
			return nil
		}
		files++
		source, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, sink := range htmlSinks {
			if strings.Contains(string(source), sink) {
				t.Errorf("%s uses %s, which renders stored text as markup: show the text with {{ }} instead", path, sink)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the admin app's sources: %v", err)
	}
	if files == 0 {
		t.Fatalf("found no .vue or .js file under %s", root)
	}
}
