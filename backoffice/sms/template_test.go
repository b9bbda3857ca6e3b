package sms

import (
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/apierror"
)

func TestValidateBody(t *testing.T) {
	long := ""
	for range MaxBodyRunes + 1 {
		long += "字"
	}
	cases := []struct {
		name  string
		event string
		body  string
		code  string
	}{
		{"default returned text", EventApplicationReturned, Events[1].DefaultBody, ""},
		{"every placeholder of returns", EventApplicationReturned, "{姓名}{登记号}{报名号}{原因}{区}", ""},
		{"no placeholder", EventRecordDeleted, "您的信息已删除。", ""},
		{"what a deletion removed", EventRecordDeleted, "{姓名}的{删除内容}已删除", ""},
		{"unknown event", "admitted", "你好", "invalid_sms_event"},
		{"empty", EventApplicationReturned, "  ", "sms_body_required"},
		{"too long", EventApplicationReturned, long, "sms_body_too_long"},
		{"unknown placeholder", EventApplicationReturned, "{学校}已退回", "sms_placeholder_unknown"},
		{"placeholder of another event", EventRecordDeleted, "报名 {报名号} 已删除", "sms_placeholder_unknown"},
		{"open brace only", EventApplicationReturned, "{姓名 已退回", "sms_placeholder_unbalanced"},
		{"close brace only", EventApplicationReturned, "姓名} 已退回", "sms_placeholder_unbalanced"},
		{"nested braces", EventApplicationReturned, "{{姓名}}", "sms_placeholder_unbalanced"},
		{"admitting campus", EventAdmissionAdmitted, "{姓名}已被{录取园所}录取", ""},
		{"campus in a not-admitted notice", EventAdmissionNotAdmitted, "{姓名}未被{录取园所}录取", "sms_placeholder_unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateBody(c.event, c.body)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ValidateBody(%q) = %v, want nil", c.body, err)
				}
				return
			}
			apiErr := apierror.As(err)
			if apiErr == nil {
				t.Fatalf("ValidateBody(%q) = %v, want %s", c.body, err, c.code)
			}
			if apiErr.Code != c.code {
				t.Errorf("ValidateBody(%q) code = %q, want %q", c.body, apiErr.Code, c.code)
			}
		})
	}
}

func TestRenderFillsPlaceholders(t *testing.T) {
	got := Render("{姓名}（{登记号}）被{区}退回：{原因}{报名号}", map[string]string{
		PlaceholderChildName: "张小明", PlaceholderRegistrationNumber: "202600000017",
		PlaceholderReason: "材料不全", PlaceholderDistrict: "徐汇区",
	})
	if want := "张小明（202600000017）被徐汇区退回：材料不全"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestDefaultBodiesValid(t *testing.T) {
	for _, info := range Events {
		if err := ValidateBody(info.Event, info.DefaultBody); err != nil {
			t.Errorf("default text of %s: %v", info.Event, err)
		}
	}
}

func TestRenderFillsCampus(t *testing.T) {
	got := Render("{姓名}已被{录取园所}录取", map[string]string{PlaceholderChildName: "张小明", PlaceholderCampus: "徐汇区第一幼儿园（本部）"})
	if want := "张小明已被徐汇区第一幼儿园（本部）录取"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestMaskPhone(t *testing.T) {
	for phone, want := range map[string]string{"13812345678": "138****5678", "123": "***", "85291234567": "852****4567"} {
		if got := MaskPhone(phone); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", phone, got, want)
		}
	}
}

func TestSenderBackoffDoubles(t *testing.T) {
	sender := &Sender{Config: SenderConfig{Backoff: time.Second, MaxBackoff: 5 * time.Second}}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 9: 5 * time.Second} {
		if got := sender.backoff(attempts); got != want {
			t.Errorf("backoff after %d attempts = %s, want %s", attempts, got, want)
		}
	}
}
