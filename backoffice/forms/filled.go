package forms

import (
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

// FilledBody is the response of GET /api/v1/forms/filled/{number}.
type FilledBody struct {
	Number        string        `json:"number"`
	Kind          string        `json:"kind"`
	SchemaVersion int           `json:"schemaVersion"`
	Values        []FilledValue `json:"values"`
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
// version. Versions are unique within a kind, so no district is needed.
func (h *Handlers) schemaLabels(ctx context.Context, kind string, version int) (map[string]string, []string, error) {
	var raw []byte
	err := h.DB.GetContext(ctx, &raw, `SELECT body FROM form_schema WHERE kind = $1 AND version = $2 LIMIT 1`, kind, version)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]string{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var body struct {
		Sections []struct {
			Fields []struct {
				Key   string `json:"key"`
				Label string `json:"label"`
			} `json:"fields"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, fmt.Errorf("%s form version %d: %w", kind, version, err)
	}
	labels := map[string]string{}
	var order []string
	for _, section := range body.Sections {
		for _, field := range section.Fields {
			labels[field.Key] = field.Label
			order = append(order, field.Key)
		}
	}
	return labels, order, nil
}

// getFilled handles GET /api/v1/forms/filled/{number}: the designed fields
// of a stored registration or application, opened from the sealed
// form_values, with the labels of the version the family filled in.
func (h *Handlers) getFilled(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number := chi.URLParam(r, "number")
	if err := enrol.CheckNumber("number", "invalid_number", number); err != nil {
		return err
	}
	kind := enrol.NumberKind(number)
	if h.Keyring == nil {
		return fmt.Errorf("forms: no keyring to open the form values of %s", number)
	}
	sealed, version, err := h.storedSubmission(ctx, staff.Scope, kind, number)
	if err != nil {
		return err
	}

	body := FilledBody{Number: number, Kind: kind, SchemaVersion: version, Values: []FilledValue{}}
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
			Extra map[string]any `json:"extra"`
		}
		if err := json.Unmarshal(plain, &values); err != nil {
			return fmt.Errorf("forms: decode the form values of %s: %w", number, err)
		}

		labels, order, err := h.schemaLabels(ctx, kind, version)
		if err != nil {
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
