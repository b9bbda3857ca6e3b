package matching

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
)

// ValidationBody is the response of GET /api/v1/matching/validation: the
// summary and one page of the unmatched addresses.
type ValidationBody struct {
	Result
	ElapsedMS      int64       `json:"elapsedMs"`
	UnmatchedTotal int         `json:"unmatchedTotal"`
	Unmatched      []Unmatched `json:"unmatched"`
	Page           int         `json:"page"`
	Size           int         `json:"size"`
}

// validation handles GET /api/v1/matching/validation?district=&year=&page=&size=.
// Each request runs the validation afresh, so the result reflects a rule
// change at once.
func (h *Handlers) validation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	result, err := h.validate(r)
	if err != nil {
		return err
	}
	body := ValidationBody{
		Result: *result, ElapsedMS: result.Elapsed.Milliseconds(), UnmatchedTotal: len(result.Unmatched),
		Unmatched: []Unmatched{}, Page: page.Number, Size: page.Size,
	}
	if start := page.Offset(); start < len(result.Unmatched) {
		body.Unmatched = result.Unmatched[start:min(start+page.Size, len(result.Unmatched))]
	}
	slog.InfoContext(ctx, "matching validation run", "district", result.DistrictCode, "year", result.Year,
		"registrations", result.Registrations, "matched", result.Matched, "elapsed_ms", body.ElapsedMS)
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// exportColumns are the header cells of the unmatched-address export.
var exportColumns = []any{"登记编号", "街道（镇）", "居（村）委", "居住地址", "原因"}

// exportUnmatched handles GET /api/v1/matching/validation/unmatched.xlsx:
// every unmatched address as an xlsx workbook. The rows go through
// excelize's StreamWriter, which spills to a temporary file past its
// in-memory chunk, and the export is recorded in the audit trail because it
// contains addresses.
func (h *Handlers) exportUnmatched(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	result, err := h.validate(r)
	if err != nil {
		return err
	}

	file := excelize.NewFile()
	defer func() {
		if err := file.Close(); err != nil {
			slog.Error("matching export: remove temporary files", "error", err)
		}
	}()
	const sheet = "无法匹配的地址"
	if err := file.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	stream, err := file.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for column, width := range []float64{16, 18, 22, 48, 40} {
		if err := stream.SetColWidth(column+1, column+1, width); err != nil {
			return err
		}
	}
	head := [][]any{
		{fmt.Sprintf("%d 年度 园所匹配验证：登记 %d 条，匹配 %d 条，匹配率 %.2f%%，无法匹配 %d 条",
			result.Year, result.Registrations, result.Matched, result.MatchRate*100, len(result.Unmatched))},
		{},
		exportColumns,
	}
	row := 1
	for _, values := range head {
		if err := stream.SetRow("A"+strconv.Itoa(row), values); err != nil {
			return err
		}
		row++
	}
	for _, unmatched := range result.Unmatched {
		values := []any{unmatched.RegistrationNumber, unmatched.StreetName, unmatched.CommitteeName, unmatched.Address, unmatched.Reason}
		if err := stream.SetRow("A"+strconv.Itoa(row), values); err != nil {
			return err
		}
		row++
	}
	if err := stream.Flush(); err != nil {
		return err
	}

	name := fmt.Sprintf("园所匹配验证-无法匹配地址-%s-%s.xlsx", result.DistrictCode, time.Now().Format("20060102-150405"))
	writeXLSXHeaders(w, name)
	if err := file.Write(w); err != nil {
		slog.Error("matching export broke off after the response started", "district", result.DistrictCode, "error", err)
		return nil
	}
	event := audit.Event{
		Action: ActionExport, Resource: resource, DistrictCode: result.DistrictCode, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("导出 %d 年度无法匹配的地址 %d 条", result.Year, len(result.Unmatched)),
	}
	if err := h.Trail.Record(context.WithoutCancel(ctx), r, staff, event); err != nil {
		slog.Error("matching export not recorded in the audit trail", "district", result.DistrictCode, "error", err)
	}
	return nil
}

// validate runs the validation the request names: its district (or the
// staff member's own) and year (or the current one).
func (h *Handlers) validate(r *http.Request) (*Result, error) {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	district, err := h.districtFor(ctx, staff, r.URL.Query().Get("district"), "district")
	if err != nil {
		return nil, err
	}
	year, err := optionalInt(r.URL.Query().Get("year"), "year", "招生年度")
	if err != nil {
		return nil, err
	}
	if year == 0 {
		if year, err = currentYear(ctx, h.DB); err != nil {
			return nil, err
		}
	}
	validator := &Validator{DB: h.DB, Keyring: h.Keyring}
	return validator.Validate(ctx, staff.Scope, district, year)
}
