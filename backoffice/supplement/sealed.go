package supplement

import (
	"encoding/json"
	"fmt"

	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// sealedGuardian is one guardian of a registration's sealed guardians (the
// edge's precheck.Guardian in JSON). It stays a map so that completing the
// phone keeps every field the edge wrote.
type sealedGuardian map[string]any

func (g sealedGuardian) text(key string) string {
	value, _ := g[key].(string)
	return value
}

func (g sealedGuardian) relation() string { return g.text("relation") }
func (g sealedGuardian) name() string     { return g.text("name") }
func (g sealedGuardian) phone() string    { return g.text("phone") }

func openGuardians(keyring *crypto.Keyring, sealed []byte) ([]sealedGuardian, error) {
	plain, err := keyring.Open(sealed, enrol.ContextGuardians)
	if err != nil {
		return nil, err
	}
	var guardians []sealedGuardian
	if err := json.Unmarshal(plain, &guardians); err != nil {
		return nil, fmt.Errorf("decode guardians: %w", err)
	}
	return guardians, nil
}

// registrationForm is the sealed JSON of a registration's form values, as
// the edge writes it. Extra keeps the schema's own fields untouched.
type registrationForm struct {
	Certificates []storedCertificate `json:"certificates,omitempty"`
	Extra        map[string]any      `json:"extra,omitempty"`
}

// storedCertificate is a certificate of a registration. Source is
// "prefill" or "upload" for the family's, "supplementary" for one a
// district admin recorded.
type storedCertificate struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	Number string `json:"number,omitempty"`
	Holder string `json:"holder,omitempty"`
	FileID string `json:"fileId,omitempty"`
}

// openForm opens a registration's form values; a registration without any
// has an empty form.
func openForm(keyring *crypto.Keyring, sealed []byte) (registrationForm, error) {
	var form registrationForm
	if len(sealed) == 0 {
		return form, nil
	}
	plain, err := keyring.Open(sealed, enrol.ContextRegistrationForm)
	if err != nil {
		return form, err
	}
	if err := json.Unmarshal(plain, &form); err != nil {
		return form, fmt.Errorf("decode registration form: %w", err)
	}
	return form, nil
}

// certificateLabels name the certificate types the edge accepts.
var certificateLabels = map[string]string{
	"birth_certificate": "出生医学证明", "household_register": "户口簿", "residence_permit": "居住证",
	"property_certificate": "房产证", "tenancy_registration": "租赁登记备案证明",
}

var sourceLabels = map[string]string{"prefill": "电子证照", "upload": "家长上传", "supplementary": "补报名时补录"}

// certificate is a certificate as the supplementary page lists it. The
// number is not shown: the page only needs to see which are missing.
type certificate struct {
	Type   string `json:"type"`
	Label  string `json:"label"`
	Source string `json:"source"`
}

func (f registrationForm) certificateList() []certificate {
	list := make([]certificate, 0, len(f.Certificates))
	for _, c := range f.Certificates {
		list = append(list, certificate{Type: c.Type, Label: certificateLabels[c.Type], Source: sourceLabels[c.Source]})
	}
	return list
}
