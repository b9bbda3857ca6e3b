package forms

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// ErrSubmissionNotFound is returned for a number with no stored
// submission.
var ErrSubmissionNotFound = apierror.New(http.StatusNotFound, "submission_not_found", "未找到该登记或报名，请核对编号。")

// FilledValue is one designed field of a submission with the label of the
// schema version it was made with.
type FilledValue struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value any    `json:"value"`
}

// FilledCertificate is one certificate file of a submission: a file the
// family uploaded (Source "upload", with FileID) or an electronic
// certificate fetched from the certificate API (Source "prefill").
type FilledCertificate struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Source string `json:"source"`
	FileID string `json:"fileId,omitempty"`
}

// FilledBody is the response of GET /api/v1/forms/filled/{number}.
type FilledBody struct {
	Number        string              `json:"number"`
	Kind          string              `json:"kind"`
	SchemaVersion int                 `json:"schemaVersion"`
	Values        []FilledValue       `json:"values"`
	Certificates  []FilledCertificate `json:"certificates"`
}

// storedSubmission reads the sealed form values and schema version of a
// registration or application. It returns ErrSubmissionNotFound when there
// is none and access.ErrOutOfScope when it lies outside scope.
func (h *Handlers) storedSubmission(ctx context.Context, scope access.Scope, kind, number string) ([]byte, int, error) {
	var q string
	var condition access.Condition
	if kind == enrol.KindRegistration {
		condition = scope.Filter(enrolment.RegistrationColumns, 2)
		q = `SELECT r.form_values, r.schema_version, (` + condition.SQL + `) IS TRUE
			FROM registration r WHERE r.registration_number = $1`
	} else {
		condition = scope.Filter(enrolment.ApplicationColumns, 2)
		q = `SELECT a.form_values, a.schema_version, (` + condition.SQL + `) IS TRUE
			FROM application a WHERE a.application_number = $1`
	}
	var sealed []byte
	var version int
	var inScope bool
	err := h.DB.QueryRowContext(ctx, q, append([]any{number}, condition.Args...)...).Scan(&sealed, &version, &inScope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrSubmissionNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	if !inScope {
		return nil, 0, access.ErrOutOfScope
	}
	return sealed, version, nil
}

// schemaLabels returns the labels of the extra fields of a kind's schema
// version in form order, and the names of its certificates by code.
// Versions are unique within a kind, so no district is needed.
func (h *Handlers) schemaLabels(ctx context.Context, kind string, version int) (map[string]string, []string, map[string]string, error) {
	labels, certificateNames := map[string]string{}, map[string]string{}
	var raw []byte
	err := h.DB.GetContext(ctx, &raw, `SELECT body FROM form_schema WHERE kind = $1 AND version = $2 LIMIT 1`, kind, version)
	if errors.Is(err, sql.ErrNoRows) {
		return labels, nil, certificateNames, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	var body struct {
		Sections []struct {
			Fields []struct {
				Key   string `json:"key"`
				Label string `json:"label"`
			} `json:"fields"`
			Certificates []SchemaCertificate `json:"certificates"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, nil, fmt.Errorf("%s form version %d: %w", kind, version, err)
	}
	var order []string
	for _, section := range body.Sections {
		for _, field := range section.Fields {
			labels[field.Key] = field.Label
			order = append(order, field.Key)
		}
		for _, certificate := range section.Certificates {
			certificateNames[certificate.Code] = certificate.Name
		}
	}
	return labels, order, certificateNames, nil
}

// filledCertificates returns the certificates of a submission with their
// names: the schema version's, else the city certificate library's (the
// registration form lists its certificate types in no schema), else the
// code itself.
func (h *Handlers) filledCertificates(ctx context.Context, stored []storedCertificate, schemaNames map[string]string) ([]FilledCertificate, error) {
	certificates := make([]FilledCertificate, 0, len(stored))
	var unnamed []string
	for _, certificate := range stored {
		if schemaNames[certificate.Type] == "" {
			unnamed = append(unnamed, certificate.Type)
		}
	}
	libraryNames := map[string]string{}
	if len(unnamed) > 0 {
		var rows []struct {
			Code string `db:"code"`
			Name string `db:"name"`
		}
		err := h.DB.SelectContext(ctx, &rows, `
			SELECT code, name FROM form_certificate WHERE district_code IS NULL AND code = ANY($1)`, unnamed)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			libraryNames[row.Code] = row.Name
		}
	}
	for _, certificate := range stored {
		name := cmp.Or(schemaNames[certificate.Type], libraryNames[certificate.Type], certificate.Type)
		certificates = append(certificates, FilledCertificate{
			Code: certificate.Type, Name: name, Source: certificate.Source, FileID: certificate.FileID,
		})
	}
	return certificates, nil
}

// storedCertificate is a certificate as the edge seals it in form_values.
// The number of a fetched certificate stays out of the response.
type storedCertificate struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	FileID string `json:"fileId"`
}

// getFilled handles GET /api/v1/forms/filled/{number}: the designed fields
// of a stored registration or application, opened from the sealed
// form_values, with the labels of the version the family filled in.
func (h *Handlers) getFilled(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number := chi.URLParam(r, "number")
	kind := enrol.NumberKind(number)
	if kind != enrol.KindRegistration && kind != enrol.KindApplication {
		return apierror.Invalid("number", "invalid_number", "编号应为 12 位登记编号或 14 位报名编号，请核对。")
	}
	if h.Keyring == nil {
		return fmt.Errorf("forms: no keyring to open the form values of %s", number)
	}
	sealed, version, err := h.storedSubmission(ctx, staff.Scope, kind, number)
	if err != nil {
		return err
	}

	body := FilledBody{Number: number, Kind: kind, SchemaVersion: version, Values: []FilledValue{}, Certificates: []FilledCertificate{}}
	if len(sealed) > 0 {
		context := enrol.ContextRegistrationForm
		if kind == enrol.KindApplication {
			context = enrol.ContextApplicationForm
		}
		plain, err := h.Keyring.Open(sealed, context)
		if err != nil {
			return fmt.Errorf("forms: open the form values of %s: %w", number, err)
		}
		var values struct {
			Extra        map[string]any      `json:"extra"`
			Certificates []storedCertificate `json:"certificates"`
		}
		if err := json.Unmarshal(plain, &values); err != nil {
			return fmt.Errorf("forms: decode the form values of %s: %w", number, err)
		}

		labels, order, certificateNames, err := h.schemaLabels(ctx, kind, version)
		if err != nil {
			return err
		}
		if body.Certificates, err = h.filledCertificates(ctx, values.Certificates, certificateNames); err != nil {
			return err
		}
		position := map[string]int{}
		for i, key := range order {
			position[key] = i
		}
		for name, value := range values.Extra {
			key := extraPrefix + name
			label := labels[key]
			if label == "" {
				label = name
			}
			body.Values = append(body.Values, FilledValue{Key: key, Label: label, Value: value})
		}
		sort.Slice(body.Values, func(i, j int) bool { return position[body.Values[i].Key] < position[body.Values[j].Key] })
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
