package forms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// FormColumns ties a draft or published form to a data scope. City-wide
// forms have no district, so only the city scope reaches them.
var FormColumns = access.Columns{Districts: []string{"d.district_code"}}

// Version is a published version of a form.
type Version struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"publishedAt"`
	PublishedBy string    `json:"publishedBy,omitempty"`
}

// DesignBody is the response of GET /api/v1/forms/designs/{kind}.
type DesignBody struct {
	Key FormKey `json:"key"`
	// Design is the saved draft, else the latest published design, else
	// an empty design.
	Design         Design     `json:"design"`
	DraftUpdatedAt *time.Time `json:"draftUpdatedAt,omitempty"`
	// Versions are the published versions, newest first.
	Versions []Version `json:"versions"`
	// Preview is the schema the design gives, as parents would get it.
	Preview json.RawMessage `json:"preview"`
}

// formKey reads the key of a designer request from the path and query.
func formKey(r *http.Request) FormKey {
	query := r.URL.Query()
	return FormKey{Kind: chi.URLParam(r, "kind"), DistrictCode: query.Get("district"), CategoryCode: query.Get("category")}
}

func keyArgs(key FormKey) []any {
	return []any{key.Kind, nullString(key.DistrictCode), nullString(key.CategoryCode)}
}

// sameForm matches the rows of one form key in $1 to $3, with d the alias.
const sameForm = `d.kind = $1 AND d.district_code IS NOT DISTINCT FROM $2 AND d.category_code IS NOT DISTINCT FROM $3`

// loadDraft returns the saved draft of key, or found false.
func loadDraft(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, key FormKey) (Design, *time.Time, bool, error) {
	condition := scope.Filter(FormColumns, 4)
	q := `SELECT d.design, d.updated_at FROM form_draft d WHERE ` + sameForm + ` AND (d.district_code IS NULL OR ` + condition.SQL + `)`
	var raw []byte
	var updatedAt time.Time
	err := db.QueryRowxContext(ctx, q, append(keyArgs(key), condition.Args...)...).Scan(&raw, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Design{}, nil, false, nil
	}
	if err != nil {
		return Design{}, nil, false, err
	}
	var design Design
	if err := json.Unmarshal(raw, &design); err != nil {
		return Design{}, nil, false, err
	}
	return design, &updatedAt, true, nil
}

// listVersions returns the published versions of key, newest first, with
// the latest one's design when it was made in the designer.
func listVersions(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, key FormKey) ([]Version, *Design, error) {
	condition := scope.Filter(FormColumns, 4)
	q := `
		SELECT d.version, d.published_at, COALESCE(d.published_by_name, ''), d.design
		FROM form_schema d
		WHERE ` + sameForm + ` AND (d.district_code IS NULL OR ` + condition.SQL + `)
		ORDER BY d.version DESC`
	rows, err := db.QueryContext(ctx, q, append(keyArgs(key), condition.Args...)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	versions := []Version{}
	var latest *Design
	for rows.Next() {
		var version Version
		var raw []byte
		if err := rows.Scan(&version.Version, &version.PublishedAt, &version.PublishedBy, &raw); err != nil {
			return nil, nil, err
		}
		if len(versions) == 0 && raw != nil {
			latest = &Design{}
			if err := json.Unmarshal(raw, latest); err != nil {
				return nil, nil, err
			}
		}
		versions = append(versions, version)
	}
	return versions, latest, rows.Err()
}

// resolve checks design for key and builds its schema body.
func (h *Handlers) resolve(ctx context.Context, scope access.Scope, key FormKey, design Design) (json.RawMessage, error) {
	lib, err := effectiveLibrary(ctx, h.DB, scope, key.DistrictCode)
	if err != nil {
		return nil, err
	}
	base, err := baseBody(ctx, h.DB, key.Kind)
	if err != nil {
		return nil, err
	}
	if err := checkDesign(design, lib, base); err != nil {
		return nil, err
	}
	return buildBody(ctx, h.DB, key, design, lib, base)
}

// getDesign handles GET /api/v1/forms/designs/{kind}?district=&category=.
func (h *Handlers) getDesign(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	key := formKey(r)
	if err := checkKey(ctx, h.DB, staff.Scope, key); err != nil {
		return err
	}

	design, updatedAt, found, err := loadDraft(ctx, h.DB, staff.Scope, key)
	if err != nil {
		return err
	}
	versions, latest, err := listVersions(ctx, h.DB, staff.Scope, key)
	if err != nil {
		return err
	}
	if !found && latest != nil {
		design = *latest
	}
	if design.Sections == nil {
		design.Sections = []DesignSection{}
	}
	body := DesignBody{Key: key, Design: design, DraftUpdatedAt: updatedAt, Versions: versions}
	// A draft goes stale when a library row it places is deleted later.
	// The body then has no preview, and the page requests one to show the
	// error in its place.
	preview, err := h.resolve(ctx, staff.Scope, key, design)
	if err != nil && apierror.As(err) == nil {
		return err
	}
	body.Preview = preview
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

type designRequest struct {
	Design Design `json:"design"`
}

// preview handles POST /api/v1/forms/designs/{kind}/preview: the schema a
// design gives, without saving it.
func (h *Handlers) preview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	key := formKey(r)
	if err := checkKey(ctx, h.DB, staff.Scope, key); err != nil {
		return err
	}
	var request designRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	body, err := h.resolve(ctx, staff.Scope, key, request.Design)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"preview": body})
	return nil
}

// saveDraft handles PUT /api/v1/forms/designs/{kind}?district=&category=.
// Only a design that resolves is saved, so a saved draft can be published.
func (h *Handlers) saveDraft(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	key := formKey(r)
	if err := checkKey(ctx, h.DB, staff.Scope, key); err != nil {
		return err
	}
	var request designRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	if request.Design.Sections == nil {
		request.Design.Sections = []DesignSection{}
	}
	preview, err := h.resolve(ctx, staff.Scope, key, request.Design)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(request.Design)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	condition := staff.Scope.Filter(FormColumns, 6)
	q := `
		INSERT INTO form_draft AS t (kind, district_code, category_code, design, updated_by)
		SELECT d.* FROM (SELECT $1::text AS kind, $2::char(6) AS district_code, $3::text AS category_code,
			$4::jsonb AS design, $5::bigint AS updated_by) AS d
		WHERE d.district_code IS NULL OR ` + condition.SQL + `
		ON CONFLICT (kind, COALESCE(district_code, ''), COALESCE(category_code, ''))
		DO UPDATE SET design = EXCLUDED.design, updated_by = EXCLUDED.updated_by, updated_at = now()
		RETURNING t.id, t.updated_at`
	var id int64
	var updatedAt time.Time
	args := append(append(keyArgs(key), string(raw), staff.ID), condition.Args...)
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&id, &updatedAt); errors.Is(err, sql.ErrNoRows) {
		return access.ErrOutOfScope
	} else if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionDraftSave, "form_draft", id, key.DistrictCode, key.Kind+"/"+key.CategoryCode,
		nil, request.Design); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"draftUpdatedAt": updatedAt, "preview": preview})
	return nil
}

// publish handles POST /api/v1/forms/designs/{kind}/publish: the saved
// draft becomes the next version, and the edge gets it with a new
// snapshot.
// checkEntryExists refuses to publish a district's application form for a
// household category that has no entry in that district in any year: no
// family would ever see it.
func checkEntryExists(ctx context.Context, db sqlx.QueryerContext, key FormKey) error {
	if key.DistrictCode == "" {
		return nil
	}
	var row struct {
		Exists bool   `db:"found"`
		Name   string `db:"name"`
	}
	err := sqlx.GetContext(ctx, db, &row, `
		SELECT EXISTS (SELECT 1 FROM entry WHERE district_code = $1 AND category_code = $2) AS found,
		       (SELECT name FROM household_category WHERE code = $2) AS name`, key.DistrictCode, key.CategoryCode)
	if err != nil {
		return err
	}
	if !row.Exists {
		return apierror.Invalid("category", "category_without_entry",
			"本区没有“"+row.Name+"”类别的报名入口，发布后家长也看不到此表单。请选择本区有报名入口的类别。")
	}
	return nil
}

func (h *Handlers) publish(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	key := formKey(r)
	if err := checkKey(ctx, h.DB, staff.Scope, key); err != nil {
		return err
	}
	design, _, found, err := loadDraft(ctx, h.DB, staff.Scope, key)
	if err != nil {
		return err
	}
	if !found {
		return errNoDraft
	}
	if err := checkEntryExists(ctx, h.DB, key); err != nil {
		return err
	}
	body, err := h.resolve(ctx, staff.Scope, key, design)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(design)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Version numbers run across all forms of a kind, so a submission's
	// kind and schema_version name one schema even when its district
	// publishes its own form later. The advisory lock orders concurrent
	// publications of a kind so that two cannot take the same number.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('form_schema:' || $1))`, key.Kind); err != nil {
		return err
	}
	condition := staff.Scope.Filter(FormColumns, 4)
	lock := `SELECT d.id FROM form_draft d WHERE ` + sameForm + ` AND (d.district_code IS NULL OR ` + condition.SQL + `) FOR UPDATE`
	var draftID int64
	if err := tx.QueryRowContext(ctx, lock, append(keyArgs(key), condition.Args...)...).Scan(&draftID); errors.Is(err, sql.ErrNoRows) {
		return errNoDraft
	} else if err != nil {
		return err
	}
	insert := `
		INSERT INTO form_schema (kind, district_code, category_code, version, body, design, published_by, published_by_name)
		SELECT $1, $2, $3, COALESCE((SELECT max(d.version) FROM form_schema d WHERE d.kind = $1), 0) + 1,
		       $4::jsonb, $5::jsonb, $6, $7
		RETURNING id, version, published_at`
	var schemaID int64
	var version Version
	if err := tx.QueryRowContext(ctx, insert, append(keyArgs(key), string(body), string(raw), staff.ID, staff.Name)...).Scan(
		&schemaID, &version.Version, &version.PublishedAt); err != nil {
		return err
	}
	version.PublishedBy = staff.Name
	after := map[string]any{"kind": key.Kind, "districtCode": key.DistrictCode, "categoryCode": key.CategoryCode,
		"version": version.Version, "design": design}
	if err := h.record(ctx, tx, r, staff, ActionPublish, "form_schema", schemaID, key.DistrictCode,
		key.Kind+"/"+key.CategoryCode+" v"+strconv.Itoa(version.Version), nil, after); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, key, version.Version)
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"version": version, "body": body})
	return nil
}

// getVersion handles GET /api/v1/forms/designs/{kind}/versions/{version}:
// a published schema, which submissions made with it keep referring to.
func (h *Handlers) getVersion(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	key := formKey(r)
	if err := checkKey(ctx, h.DB, staff.Scope, key); err != nil {
		return err
	}
	number, err := strconv.Atoi(chi.URLParam(r, "version"))
	if err != nil || number < 1 {
		return ErrVersionNotFound
	}
	condition := staff.Scope.Filter(FormColumns, 5)
	q := `SELECT d.body FROM form_schema d WHERE ` + sameForm + ` AND d.version = $4 AND (d.district_code IS NULL OR ` + condition.SQL + `)`
	var body []byte
	err = h.DB.QueryRowContext(ctx, q, append(append(keyArgs(key), number), condition.Args...)...).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrVersionNotFound
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"version": number, "body": json.RawMessage(body)})
	return nil
}

var errNoDraft = apierror.New(http.StatusConflict, "no_draft", "请先保存表单设计，再发布。")
