package enrolment

import "testing"

func TestEffectiveStatus(t *testing.T) {
	cases := []struct {
		name      string
		fields    map[string]string
		watermark string
		want      string
	}{
		{"below watermark", map[string]string{FieldStatus: StatusAccepted, FieldEntry: "100-5"}, "100-6", StatusRecorded},
		{"at watermark", map[string]string{FieldStatus: StatusAccepted, FieldEntry: "100-6"}, "100-6", StatusAccepted},
		{"later millisecond", map[string]string{FieldStatus: StatusAccepted, FieldEntry: "101-0"}, "100-6", StatusAccepted},
		{"sequence compared as a number", map[string]string{FieldStatus: StatusAccepted, FieldEntry: "100-9"}, "100-10", StatusRecorded},
		{"no watermark yet", map[string]string{FieldStatus: StatusAccepted, FieldEntry: "100-5"}, "", StatusAccepted},
		{"no entry ID", map[string]string{FieldStatus: StatusAccepted}, "100-6", StatusAccepted},
		{"written status wins", map[string]string{FieldStatus: StatusRejectedDuplicate, FieldEntry: "100-5"}, "100-6", StatusRejectedDuplicate},
		{"verified stays", map[string]string{FieldStatus: StatusVerified, FieldEntry: "100-5"}, "100-6", StatusVerified},
	}
	for _, c := range cases {
		if got := EffectiveStatus(c.fields, c.watermark); got != c.want {
			t.Errorf("%s: EffectiveStatus = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReceiptNumberOfRejectedReceipt(t *testing.T) {
	rejected := RejectedReceipt("202700000013", "ab01")
	if got := ReceiptNumber(rejected); got != "202700000013" {
		t.Errorf("ReceiptNumber(%q) = %q, want 202700000013", rejected, got)
	}
	if got := ReceiptNumber("202700000013"); got != "202700000013" {
		t.Errorf("ReceiptNumber of a plain number = %q, want it unchanged", got)
	}
}
