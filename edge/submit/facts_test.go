package submit

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/enrolment"
)

// TestSealedAddressesSources covers the receipts without a record; a
// registration's own receipt is covered by TestRegistrationFactsAddresses.
func TestSealedAddressesSources(t *testing.T) {
	facts := strings.Split("2027|ab|resident_id|1|310104|310104001|310104001001|310104|310104001|310104001001|1|1||0", enrolment.FactsSeparator)
	residence, hukou := []byte("sealed residence"), []byte("sealed hukou")

	older := append(append(packedFacts{}, facts...), hex.EncodeToString(residence), hex.EncodeToString(hukou))
	gotResidence, gotHukou := sealedAddresses("202700000013", nil, older)
	if !bytes.Equal(gotResidence, residence) || !bytes.Equal(gotHukou, hukou) {
		t.Errorf("older receipt: addresses = %q, %q, want them from the facts", gotResidence, gotHukou)
	}

	gotResidence, gotHukou = sealedAddresses("202700000013", map[string]string{}, facts)
	if gotResidence != nil || gotHukou != nil {
		t.Errorf("receipt with neither: addresses = %q, %q, want none", gotResidence, gotHukou)
	}
}
