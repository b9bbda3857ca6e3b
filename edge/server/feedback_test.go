package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	shared "github.com/sh-preschool/preschool/shared/feedback"
)

func TestFeedbackSettings(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	answer := e.Get(t, "/api/v1/feedback/settings", "")
	if answer.Status != http.StatusOK {
		t.Fatalf("settings status = %d %s, want 200", answer.Status, answer.Body)
	}
	var settings struct {
		Categories         []shared.Category `json:"categories"`
		IdleTimeoutSeconds int               `json:"idleTimeoutSeconds"`
	}
	answer.Decode(t, &settings)
	if len(settings.Categories) != len(shared.Categories) {
		t.Errorf("categories = %d, want %d", len(settings.Categories), len(shared.Categories))
	}
	if settings.IdleTimeoutSeconds != 300 {
		t.Errorf("idle timeout = %d s, want the default 300", settings.IdleTimeoutSeconds)
	}
}

func TestFeedbackQueuedOnStream(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	body := `{"category":"certificate","body":"  房产证调不出来\n换了浏览器也不行  ","page":"/register","step":"证照材料","trigger":"idle",` +
		`"districtCode":"310104","phone":"138 0013 8000"}`
	answer := e.Post(t, "/api/v1/feedback", "", []byte(body))
	if answer.Status != http.StatusAccepted {
		t.Fatalf("status = %d %s, want 202", answer.Status, answer.Body)
	}
	if !edgetest.HasHan(string(answer.Body)) {
		t.Errorf("response %s has no Chinese message", answer.Body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := e.Redis.Client.Do(ctx, e.Redis.Client.B().Xrange().Key(shared.Stream(e.Redis.Prefix)).Start("-").End("+").Build()).AsXRange()
	if err != nil || len(entries) != 1 {
		t.Fatalf("stream entries = %d, %v; want 1", len(entries), err)
	}
	for name, value := range entries[0].FieldValues {
		if strings.Contains(value, "13800138000") {
			t.Errorf("stream field %s holds the phone in plain text", name)
		}
	}
	entry, err := shared.ParseEntry(entries[0].FieldValues)
	if err != nil {
		t.Fatalf("entry does not parse: %v", err)
	}
	if entry.Body != "房产证调不出来\n换了浏览器也不行" || entry.Category != "certificate" || entry.DistrictCode != "310104" || entry.Trigger != shared.TriggerIdle {
		t.Errorf("entry = %+v, want the trimmed report", entry)
	}
	phone, err := f.Keyring.Open(entry.SealedPhone, shared.ContextPhone)
	if err != nil || string(phone) != "13800138000" || entry.PhoneMasked != "138****8000" {
		t.Errorf("phone = %q (%v), masked %q; want 13800138000 sealed and 138****8000", phone, err, entry.PhoneMasked)
	}
}

func TestFeedbackRejectsInvalidReports(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	valid := map[string]string{"category": `"form_unclear"`, "body": `"看不懂"`, "page": `"/apply"`, "step": `"选择园所"`, "trigger": `"leave"`}
	build := func(changes map[string]string) []byte {
		fields := map[string]string{}
		for name, value := range valid {
			fields[name] = value
		}
		for name, value := range changes {
			fields[name] = value
		}
		parts := []string{}
		for name, value := range fields {
			if value != "" {
				parts = append(parts, `"`+name+`":`+value)
			}
		}
		return []byte("{" + strings.Join(parts, ",") + "}")
	}
	tests := []struct {
		name    string
		changes map[string]string
		code    string
		field   string
	}{
		{"unknown category", map[string]string{"category": `"lost"`}, "invalid_category", "category"},
		{"other without text", map[string]string{"category": `"other"`, "body": `" "`}, "body_required", "body"},
		{"text too long", map[string]string{"body": `"` + strings.Repeat("长", shared.MaxBodyRunes+1) + `"`}, "body_too_long", "body"},
		{"no page", map[string]string{"page": ""}, "invalid_page", "page"},
		{"unknown trigger", map[string]string{"trigger": `"timer"`}, "invalid_trigger", "trigger"},
		{"unknown district", map[string]string{"districtCode": `"319999"`}, "unknown_district", "districtCode"},
		{"invalid phone", map[string]string{"phone": `"12345"`}, "invalid_phone", "phone"},
		{"unknown field", map[string]string{"name": `"张三"`}, "unknown_field", "name"},
		{"NUL in text", map[string]string{"body": `"看不懂\u0000"`}, "invalid_body_character", "body"},
		{"escape in text", map[string]string{"body": `"\u001b[2J"`}, "invalid_body_character", "body"},
		{"NUL in page", map[string]string{"page": `"/apply\u0000"`}, "invalid_page", "page"},
		{"line break in page", map[string]string{"page": `"/ap\nply"`}, "invalid_page", "page"},
		{"NUL in step", map[string]string{"step": `"选择\u0000园所"`}, "invalid_step", "step"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			answer := e.Post(t, "/api/v1/feedback", "", build(test.changes))
			edgetest.CheckAPIError(t, answer.Error(t), http.StatusBadRequest, test.code, test.field)
		})
	}

	crossSite := e.Do(t, edgetest.Request{Method: http.MethodPost, Path: "/api/v1/feedback", Body: build(nil),
		Header: map[string]string{"Origin": "https://attacker.example"}})
	if crossSite.Status != http.StatusForbidden {
		t.Errorf("cross-site report status = %d, want 403", crossSite.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, _ := e.Redis.Client.Do(ctx, e.Redis.Client.B().Xlen().Key(shared.Stream(e.Redis.Prefix)).Build()).AsInt64(); n != 0 {
		t.Errorf("stream length after rejected reports = %d, want 0", n)
	}
}
