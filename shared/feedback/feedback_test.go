package feedback

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validEntry() Entry {
	return Entry{
		Category: "certificate", Body: "房产证调不出来", Page: "/register", Step: "证照材料", Trigger: TriggerLeave,
		DistrictCode: "310104", SealedPhone: []byte{1, 2, 3}, PhoneMasked: "138****8000", KeyID: "k1",
		SubmittedAt: time.Date(2026, 3, 1, 9, 0, 0, 123_000_000, time.UTC),
	}
}

func fieldMap(entry Entry) map[string]string {
	pairs := entry.Fields()
	fields := map[string]string{}
	for i := 0; i < len(pairs); i += 2 {
		fields[pairs[i]] = pairs[i+1]
	}
	return fields
}

func TestParseEntryRoundTrip(t *testing.T) {
	want := validEntry()
	got, err := ParseEntry(fieldMap(want))
	if err != nil {
		t.Fatalf("ParseEntry: %v", err)
	}
	if got.Category != want.Category || got.Body != want.Body || got.Page != want.Page || got.Step != want.Step {
		t.Errorf("text fields = %+v, want %+v", got, want)
	}
	if got.Trigger != want.Trigger || got.DistrictCode != want.DistrictCode || got.KeyID != want.KeyID {
		t.Errorf("codes = %+v, want %+v", got, want)
	}
	if string(got.SealedPhone) != string(want.SealedPhone) || got.PhoneMasked != want.PhoneMasked {
		t.Errorf("phone = %v %q, want %v %q", got.SealedPhone, got.PhoneMasked, want.SealedPhone, want.PhoneMasked)
	}
	if !got.SubmittedAt.Equal(want.SubmittedAt) {
		t.Errorf("submitted at %v, want %v", got.SubmittedAt, want.SubmittedAt)
	}
}

func TestParseEntryRejectsMalformed(t *testing.T) {
	cases := map[string]func(map[string]string){
		"missing category":   func(f map[string]string) { delete(f, "category") },
		"unknown category":   func(f map[string]string) { f["category"] = "lost" },
		"unknown trigger":    func(f map[string]string) { f["trigger"] = "timer" },
		"bad time":           func(f map[string]string) { f["submitted_at"] = "yesterday" },
		"district shape":     func(f map[string]string) { f["district"] = "110101" },
		"district letters":   func(f map[string]string) { f["district"] = "31010x" },
		"body too long":      func(f map[string]string) { f["body"] = strings.Repeat("长", MaxBodyRunes+1) },
		"page too long":      func(f map[string]string) { f["page"] = strings.Repeat("p", MaxPageRunes+1) },
		"missing key ID":     func(f map[string]string) { delete(f, "key_id") },
		"trimmed (no data)":  func(f map[string]string) { clear(f) },
		"NUL in body":        func(f map[string]string) { f["body"] = "看不懂\x00" },
		"escape in body":     func(f map[string]string) { f["body"] = "看不懂\x1b[2J" },
		"line break in page": func(f map[string]string) { f["page"] = "/register\n" },
		"NUL in step":        func(f map[string]string) { f["step"] = "\x00" },
		"C1 control in step": func(f map[string]string) { f["step"] = "监护人\u0085信息" },
		"invalid UTF-8 body": func(f map[string]string) { f["body"] = "\xff\xfe" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			fields := fieldMap(validEntry())
			change(fields)
			if _, err := ParseEntry(fields); !errors.Is(err, ErrMalformedEntry) {
				t.Errorf("ParseEntry = %v, want ErrMalformedEntry", err)
			}
		})
	}
}

func TestParseEntryKeepsLineBreaksInBody(t *testing.T) {
	fields := fieldMap(validEntry())
	fields["body"] = "第一行\r\n第二行\n第三行"
	entry, err := ParseEntry(fields)
	if err != nil {
		t.Fatalf("ParseEntry: %v", err)
	}
	if entry.Body != fields["body"] {
		t.Errorf("body = %q, want %q", entry.Body, fields["body"])
	}
}

func FuzzParseEntry(f *testing.F) {
	entry := validEntry()
	f.Add(entry.Category, entry.Body, entry.Trigger, entry.DistrictCode, "1772355600123")
	f.Add("other", "", "idle", "", "0")
	f.Fuzz(func(t *testing.T, category, body, trigger, district, submittedAt string) {
		fields := fieldMap(validEntry())
		fields["category"], fields["body"], fields["trigger"], fields["district"], fields["submitted_at"] =
			category, body, trigger, district, submittedAt
		parsed, err := ParseEntry(fields)
		if err != nil {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("error %v is not ErrMalformedEntry", err)
			}
			return
		}
		if _, ok := CategoryName(parsed.Category); !ok {
			t.Errorf("accepted unknown category %q", parsed.Category)
		}
		if parsed.DistrictCode != "" && !validDistrictCode(parsed.DistrictCode) {
			t.Errorf("accepted district %q", parsed.DistrictCode)
		}
	})
}
