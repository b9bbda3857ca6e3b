package enrolment

import "testing"

func TestNumberSequenceReadsWhatFormatWrote(t *testing.T) {
	for _, sequence := range []int64{1, 42, 9_999_999} {
		registration := FormatRegistrationNumber(2027, sequence)
		if got := NumberSequence(registration); got != sequence {
			t.Errorf("NumberSequence(%s) = %d, want %d", registration, got, sequence)
		}
		application := FormatApplicationNumber(2027, "310104", sequence)
		if got := NumberSequence(application); got != sequence {
			t.Errorf("NumberSequence(%s) = %d, want %d", application, got, sequence)
		}
	}
}
