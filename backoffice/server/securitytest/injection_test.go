package securitytest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
)

// hostileValues are SQL injection attempts, each put into every filter of
// every list route.
var hostileValues = []string{
	"' OR 1=1--",
	"' OR '1'='1",
	changning + "' UNION SELECT registration_number FROM registration--",
	"1; DROP TABLE registration; --",
	"name;DROP TABLE staff_user",
	"%' OR district_code = '" + changning + "' --",
	`\'; DELETE FROM audit_event; --`,
	"1) OR (1=1",
	"$1",
	"长宁' OR TRUE --",
	"district_code DESC; SELECT pg_sleep(5)",
	"<script>alert(1)</script>",
}

// sortParameters are read by no list route today. The test sends them
// anyway, so a route that starts reading one is attacked through it.
var sortParameters = []string{"sort", "order"}

// TestListFilterInjection puts each hostile value into every filter, sort
// and paging parameter of every list route, as a staff member allowed to
// read the list. Every request must get a 200 or a 4xx. A 200 must return no
// more rows than the list without filters, and none of 长宁's rows to the
// 徐汇 admin. The tables and the audit chain must be intact afterwards.
func TestListFilterInjection(t *testing.T) {
	h := newHarness(t, nil)
	readers := map[string]*client{}
	for _, username := range []string{xuhuiAdmin, auditorName, securityName} {
		readers[username] = h.signIn(t, username)
	}
	tables := []string{"registration", "application", "dictionary_item", "staff_user", "audit_event", "login_log"}
	before := map[string]int{}
	for _, table := range tables {
		before[table] = h.count(t, `SELECT count(*) FROM `+table)
	}

	lists := 0
	requests := 0
	for _, found := range h.routes(t) {
		rules, ok := routeCases[found.key()]
		if !ok || found.method != http.MethodGet || rules.filters == nil {
			continue
		}
		reader, ok := readers[rules.reader]
		if !ok {
			t.Errorf("route %s: reader %q is not one of the signed-in accounts", found.key(), rules.reader)
			continue
		}
		path := strings.ReplaceAll(found.pattern, "{code}", url.PathEscape(h.fixtures.dictionary))
		if strings.Contains(path, "{") {
			t.Errorf("route %s: the injection test cannot fill the parameters of %s", found.key(), path)
			continue
		}
		lists++
		t.Run(found.key(), func(t *testing.T) {
			baseline := reader.get(t, path)
			baselineRows, counted := rowCount(baseline)
			for _, parameter := range append(append([]string{}, rules.filters...), sortParameters...) {
				for _, value := range hostileValues {
					requests++
					query := path + "?" + url.Values{parameter: {value}}.Encode()
					answer := reader.get(t, query)
					if answer.status >= http.StatusInternalServerError {
						t.Errorf("GET %s = %d %s, want 200 or 4xx", query, answer.status, answer.body)
						continue
					}
					if !strings.HasPrefix(answer.header.Get("Content-Type"), "application/json") {
						t.Errorf("GET %s: Content-Type = %q, want JSON", query, answer.header.Get("Content-Type"))
					}
					if answer.status != http.StatusOK {
						continue
					}
					if rows, ok := rowCount(answer); ok && counted && baseline.status == http.StatusOK && rows > baselineRows {
						t.Errorf("GET %s returned %d rows, more than the %d of the list without filters", query, rows, baselineRows)
					}
					if rules.reader != xuhuiAdmin {
						continue
					}
					for _, marker := range h.fixtures.otherDistrictMarkers() {
						if strings.Contains(string(answer.body), marker) {
							t.Errorf("GET %s returned 长宁's %q to the 徐汇 admin", query, marker)
						}
					}
				}
			}
		})
	}
	if lists < 8 {
		t.Errorf("attacked %d list routes, want at least the 8 the back office had when this test was written", lists)
	}

	for _, table := range tables {
		after := h.count(t, `SELECT count(*) FROM `+table)
		if table == "audit_event" || table == "login_log" {
			// Both grow with the sign-ins and denials above.
			if after < before[table] {
				t.Errorf("%s has %d rows after the attempts, fewer than the %d before", table, after, before[table])
			}
			continue
		}
		if after != before[table] {
			t.Errorf("%s has %d rows after the attempts, want %d", table, after, before[table])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if result, err := (&audit.Trail{DB: h.env.DB.DB, Now: time.Now}).Verify(ctx); err != nil {
		t.Errorf("audit trail after the attempts: %v (problems %+v)", err, result.Problems)
	}
	t.Logf("sent %d hostile requests to %d list routes", requests, lists)
}

// rowCount returns a list body's total, or the length of its items or
// nodes, and whether the body had any of them.
func rowCount(answer response) (int, bool) {
	var body struct {
		Total *int              `json:"total"`
		Items []json.RawMessage `json:"items"`
		Nodes []json.RawMessage `json:"nodes"`
	}
	if answer.status != http.StatusOK || json.Unmarshal(answer.body, &body) != nil {
		return 0, false
	}
	switch {
	case body.Total != nil:
		return *body.Total, true
	case body.Items != nil:
		return len(body.Items), true
	case body.Nodes != nil:
		return len(body.Nodes), true
	}
	return 0, false
}
