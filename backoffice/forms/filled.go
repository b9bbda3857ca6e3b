package forms

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/upload"
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

// submission is the stored part of a registration or application that
// the filled-form endpoints read.
type submission struct {
	sealed     []byte
	version    int
	ownerIndex []byte
}

// storedSubmission reads the sealed form values, schema version and owner
// of a registration or application. It returns ErrSubmissionNotFound when
// there is none and access.ErrOutOfScope when it lies outside scope.
func (h *Handlers) storedSubmission(ctx context.Context, scope access.Scope, kind, number string) (submission, error) {
	var q string
	var condition access.Condition
	if kind == enrol.KindRegistration {
		condition = scope.Filter(enrolment.RegistrationColumns, 2)
		q = `SELECT r.form_values, r.schema_version, r.owner_index, (` + condition.SQL + `) IS TRUE
			FROM registration r WHERE r.registration_number = $1`
	} else {
		condition = scope.Filter(enrolment.ApplicationColumns, 2)
		q = `SELECT a.form_values, a.schema_version, a.owner_index, (` + condition.SQL + `) IS TRUE
			FROM application a WHERE a.application_number = $1`
	}
	var stored submission
	var inScope bool
	err := h.DB.QueryRowContext(ctx, q, append([]any{number}, condition.Args...)...).
		Scan(&stored.sealed, &stored.version, &stored.ownerIndex, &inScope)
	if errors.Is(err, sql.ErrNoRows) {
		return submission{}, ErrSubmissionNotFound
	}
	if err != nil {
		return submission{}, err
	}
	if !inScope {
		return submission{}, access.ErrOutOfScope
	}
	return stored, nil
}

// filledValues is the JSON the edge seals into form_values.
type filledValues struct {
	Extra        map[string]any      `json:"extra"`
	Certificates []storedCertificate `json:"certificates"`
}

// openValues opens a submission's sealed form values. A submission without
// any has none.
func (h *Handlers) openValues(kind, number string, stored submission) (filledValues, error) {
	var values filledValues
	if len(stored.sealed) == 0 {
		return values, nil
	}
	context := enrol.ContextRegistrationForm
	if kind == enrol.KindApplication {
		context = enrol.ContextApplicationForm
	}
	plain, err := h.Keyring.Open(stored.sealed, context)
	if err != nil {
		return values, fmt.Errorf("forms: open the form values of %s: %w", number, err)
	}
	if err := json.Unmarshal(plain, &values); err != nil {
		return values, fmt.Errorf("forms: decode the form values of %s: %w", number, err)
	}
	return values, nil
}

// filledNumber returns the {number} of a filled-form request with its kind.
func filledNumber(r *http.Request) (string, string, error) {
	number := chi.URLParam(r, "number")
	if err := enrol.CheckNumber("number", "invalid_number", number); err != nil {
		return "", "", err
	}
	return number, enrol.NumberKind(number), nil
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
	number, kind, err := filledNumber(r)
	if err != nil {
		return err
	}
	if h.Keyring == nil {
		return fmt.Errorf("forms: no keyring to open the form values of %s", number)
	}
	stored, err := h.storedSubmission(ctx, staff.Scope, kind, number)
	if err != nil {
		return err
	}

	body := FilledBody{Number: number, Kind: kind, SchemaVersion: stored.version, Values: []FilledValue{}, Certificates: []FilledCertificate{}}
	if len(stored.sealed) > 0 {
		values, err := h.openValues(kind, number, stored)
		if err != nil {
			return err
		}
		labels, order, certificateNames, err := h.schemaLabels(ctx, kind, stored.version)
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

// Errors of the certificate file endpoint.
var (
	ErrCertificateFileNotFound = apierror.New(http.StatusNotFound, "certificate_file_not_found",
		"未找到该证照文件：它不属于这份登记或报名，或已被清理。")
	ErrUploadsUnavailable = apierror.New(http.StatusServiceUnavailable, "uploads_unavailable",
		"证照文件存储暂不可用，请稍后再试；如持续出现，请联系系统管理员检查上传目录配置。")
)

// getFilledFile handles GET /api/v1/forms/filled/{number}/files/{fileId}:
// one certificate file that the family uploaded with a registration or an
// application, opened from the edge's upload folder with the record's
// owner, and sent with the content type its first bytes show. Only a file
// the record's form values name is served, so staff reach no file through
// a record of their scope that the record does not carry.
func (h *Handlers) getFilledFile(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number, kind, err := filledNumber(r)
	if err != nil {
		return err
	}
	fileID := chi.URLParam(r, "fileId")
	if !upload.ValidID(fileID) {
		return apierror.Invalid("fileId", "invalid_file_id", "文件编号应为 32 位十六进制字符，请核对。")
	}
	if h.Keyring == nil {
		return fmt.Errorf("forms: no keyring to open the files of %s", number)
	}
	stored, err := h.storedSubmission(ctx, staff.Scope, kind, number)
	if err != nil {
		return err
	}
	values, err := h.openValues(kind, number, stored)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(values.Certificates, func(c storedCertificate) bool { return c.Source == "upload" && c.FileID == fileID }) {
		return ErrCertificateFileNotFound
	}

	sealed, err := os.ReadFile(upload.Path(h.UploadDir, stored.ownerIndex, fileID))
	if errors.Is(err, fs.ErrNotExist) {
		slog.Warn("certificate file named by a record is missing from the upload folder",
			"number", number, "file_id", fileID, "upload_dir", h.UploadDir)
		return ErrCertificateFileNotFound
	}
	if err != nil {
		slog.Error("certificate file not readable", "number", number, "file_id", fileID, "error", err)
		return ErrUploadsUnavailable
	}
	data, err := h.Keyring.Open(sealed, upload.Context(stored.ownerIndex))
	if err != nil {
		return fmt.Errorf("forms: open certificate file %s of %s: %w", fileID, number, err)
	}
	contentType := upload.SniffContentType(data)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// A failed write means the client went away; the status is sent, so
	// there is nothing left to report to it.
	_, _ = w.Write(data)
	return nil
}
