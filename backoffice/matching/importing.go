package matching

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Limits of an import.
const (
	maxImportBytes = 5 << 20
	maxImportRows  = 10_000
)

// importColumns are the template's header cells, in column order. The
// import checks the header row against them.
var importColumns = []string{"匹配模式", "适用入口", "提供范围", "街道（镇）", "居（村）委", "门牌范围", "单双号", "小区", "办园点"}

// fieldColumns maps a RuleInput field to its column letter, for the report.
var fieldColumns = map[string]string{
	"mode": "A", "audience": "B", "offer": "C", "streetCode": "D", "committeeCode": "E",
	"roadRange": "F", "parity": "G", "compound": "H", "campusId": "I", "year": "",
}

// templateExamples are the example rows of the template, one per mode, on
// real Xuhui roads and divisions.
var templateExamples = [][]any{
	{"1", "本市", "指定园所", "天平路街道", "", "", "", "", "（办园点编号或幼儿园名称）"},
	{"2", "本市", "指定园所", "", "", "漕溪北路100-120号", "双号", "", "（办园点编号或幼儿园名称）"},
	{"3", "本市", "指定园所", "天平路街道", "（居委名称）", "", "", "（小区名称，最多12个汉字）", "（办园点编号或幼儿园名称）"},
	{"4", "外省市", "公办园", "", "", "", "", "", ""},
}

// template handles GET /api/v1/matching/rules/template.xlsx.
func (h *Handlers) template(w http.ResponseWriter, r *http.Request) error {
	file := excelize.NewFile()
	defer file.Close()
	const sheet = "匹配规则"
	if err := file.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	header := make([]any, len(importColumns))
	for i, column := range importColumns {
		header[i] = column
	}
	if err := file.SetSheetRow(sheet, "A1", &header); err != nil {
		return err
	}

	for i, example := range templateExamples {
		if err := file.SetSheetRow(sheet, "A"+strconv.Itoa(i+2), &example); err != nil {
			return err
		}
	}

	notes := []string{
		"填写说明：",
		"匹配模式：1 街道居委；2 详细地址（门牌范围）；3 街道居委小区；4 开放列表（全区地址均可选）。",
		"适用入口：本市 或 外省市。提供范围：指定园所；外省市入口还可填 公办园 或 民办园（全区全部公办或民办办园点）。",
		"门牌范围示例：漕溪北路100-120号、漕溪北路100号-120号、漕溪北路1~5弄、漕溪北路100弄1-20号、漕溪北路100弄3支弄1-9号。",
		"单双号：全部、单号 或 双号。小区名称最多 12 个汉字（字母、数字按半个汉字计）。",
		"导入前请删除示例行。有任何一行出错时整批不导入，请按错误报告修改后重新导入。",
	}
	const notesSheet = "填写说明"
	if _, err := file.NewSheet(notesSheet); err != nil {
		return err
	}
	for i, note := range notes {
		if err := file.SetCellValue(notesSheet, "A"+strconv.Itoa(i+1), note); err != nil {
			return err
		}
	}
	writeXLSXHeaders(w, "匹配规则导入模板.xlsx")
	return file.Write(w)
}

// ImportError is one invalid cell of an import: the spreadsheet row (the
// header is row 1), the column letter (empty for the whole row) and the
// Chinese reason.
type ImportError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ImportReport is the response of an import. Either every row is imported
// (Errors is empty) or none is.
type ImportReport struct {
	Rows     int           `json:"rows"`
	Imported int           `json:"imported"`
	Errors   []ImportError `json:"errors"`
}

// importRules handles POST /api/v1/matching/rules/import?district=&year=, a
// multipart form with the xlsx in "file". The rules are imported all or
// none: when any row is invalid, nothing is stored and the 422 response
// lists every invalid cell, so the district fixes the file and imports it
// again without duplicating the rows that were fine.
func (h *Handlers) importRules(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	input := RuleInput{DistrictCode: r.URL.Query().Get("district")}
	year, err := optionalInt(r.URL.Query().Get("year"), "year", "招生年度")
	if err != nil {
		return err
	}
	input.Year = year
	refs, err := h.referencesFor(ctx, staff, &input)
	if err != nil {
		return err
	}

	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
	upload, _, err := r.FormFile("file")
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apierror.New(http.StatusRequestEntityTooLarge, "import_too_large", "导入文件不能超过 5 MB，请分批导入。")
		}
		return apierror.Invalid("file", "missing_import_file", "请选择要导入的 xlsx 文件。")
	}
	defer upload.Close()
	file, err := excelize.OpenReader(upload)
	if err != nil {
		return apierror.Invalid("file", "invalid_import_file", "无法读取该文件，请使用下载的 xlsx 模板填写后导入。")
	}
	defer file.Close()

	keys, err := existingKeys(ctx, h.DB, refs.districtCode, input.Year)
	if err != nil {
		return err
	}
	rows, report, err := readImport(file, refs, input.Year, keys)
	if err != nil {
		return err
	}
	if len(report.Errors) > 0 {
		httpx.WriteJSON(w, http.StatusUnprocessableEntity, report)
		return nil
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ids := make([]int64, 0, len(rows))
	for _, row := range rows {
		id, err := insertRule(ctx, tx, row)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	event := audit.Event{
		Action: ActionImport, Resource: resource, DistrictCode: refs.districtCode, Outcome: audit.OutcomeSuccess,
		After:  map[string]any{"year": input.Year, "count": len(ids), "ruleIds": ids},
		Detail: fmt.Sprintf("imported %d rules", len(ids)),
	}
	if err := h.Trail.RecordTx(ctx, tx, r, staff, event); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	slog.Info("matching rules imported", "district", refs.districtCode, "year", input.Year, "rules", len(ids), "staff_id", staff.ID)
	h.republish(ctx, ActionImport, 0)
	report.Imported = len(ids)
	httpx.WriteJSON(w, http.StatusOK, report)
	return nil
}

// readImport checks every data row of the first sheet and returns the rows
// to store, or a report of every invalid cell. A row that repeats a stored
// rule (keys) or an earlier row of the file is invalid too. An error is
// returned only for a file that cannot be read at all.
func readImport(file *excelize.File, refs *references, year int, keys map[string]int64) ([]ruleRow, ImportReport, error) {
	report := ImportReport{Errors: []ImportError{}}
	sheets := file.GetSheetList()
	if len(sheets) == 0 {
		return nil, report, apierror.Invalid("file", "empty_import_file", "文件中没有工作表，请使用下载的模板。")
	}
	rows, err := file.Rows(sheets[0])
	if err != nil {
		return nil, report, apierror.Invalid("file", "invalid_import_file", "无法读取该文件，请使用下载的 xlsx 模板填写后导入。")
	}
	defer rows.Close()

	var stored []ruleRow
	rowsByKey := map[string]int{}
	number := 0
	for rows.Next() {
		number++
		cells, err := rows.Columns()
		if err != nil {
			return nil, report, apierror.Invalid("file", "invalid_import_file", "无法读取该文件，请使用下载的 xlsx 模板填写后导入。")
		}
		if number == 1 {
			if !headerMatches(cells) {
				return nil, report, apierror.Invalid("file", "invalid_import_header",
					"第 1 行表头应为："+strings.Join(importColumns, "、")+"。请使用下载的模板。")
			}
			continue
		}
		if blankRow(cells) {
			continue
		}
		report.Rows++
		if report.Rows > maxImportRows {
			return nil, report, apierror.Invalid("file", "import_too_many_rows", fmt.Sprintf("一次最多导入 %d 条规则，请分批导入。", maxImportRows))
		}
		input, problems := refs.inputFromCells(cells, year)
		row, checkProblems := refs.check(input)
		reported := map[string]bool{}
		for _, problem := range problems {
			reported[problem.Field] = true
		}
		for _, problem := range checkProblems {
			if !reported[problem.Field] {
				problems = append(problems, problem)
			}
		}
		for _, problem := range problems {
			report.Errors = append(report.Errors, ImportError{
				Row: number, Column: fieldColumns[problem.Field], Field: problem.Field, Message: problem.Message,
			})
		}
		if len(problems) == 0 {
			key := row.key()
			if id, found := keys[key]; found {
				report.Errors = append(report.Errors, ImportError{Row: number,
					Message: fmt.Sprintf("与已有的匹配规则（编号 %d）相同，请删除此行。", id)})
			} else if earlier, found := rowsByKey[key]; found {
				report.Errors = append(report.Errors, ImportError{Row: number,
					Message: fmt.Sprintf("与第 %d 行相同，请删除重复的行。", earlier)})
			} else {
				rowsByKey[key] = number
			}
		}
		stored = append(stored, row)
	}
	if report.Rows == 0 {
		return nil, report, apierror.Invalid("file", "empty_import_file", "文件中没有要导入的规则，请在表头下方逐行填写。")
	}
	return stored, report, nil
}

func headerMatches(cells []string) bool {
	if len(cells) < len(importColumns) {
		return false
	}
	for i, column := range importColumns {
		if strings.TrimSpace(cells[i]) != column {
			return false
		}
	}
	return true
}

func blankRow(cells []string) bool {
	for _, cell := range cells {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}

// inputFromCells reads one data row. Streets and committees may be given by
// name or code, campuses by ID, kindergarten name, or kindergarten name
// followed by campus name. Problems with the names are returned here,
// problems with the rule itself come from check.
func (refs *references) inputFromCells(cells []string, year int) (RuleInput, []FieldError) {
	cell := func(i int) string {
		if i < len(cells) {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	var problems []FieldError
	input := RuleInput{Year: year, DistrictCode: refs.districtCode, RoadRange: cell(5), Parity: cell(6), Compound: cell(7)}

	switch mode := cell(0); mode {
	case "1", "街道居委":
		input.Mode = 1
	case "2", "详细地址":
		input.Mode = 2
	case "3", "街道居委小区":
		input.Mode = 3
	case "4", "开放列表":
		input.Mode = 4
	default:
		problems = append(problems, FieldError{Field: "mode", Code: "invalid_mode",
			Message: fmt.Sprintf("匹配模式“%s”无法识别，应为 1、2、3 或 4。", mode)})
		input.Mode = -1
	}
	switch audience := cell(1); audience {
	case "", "本市":
		input.Audience = "local"
	case "外省市":
		input.Audience = "other_province"
	default:
		input.Audience = audience // check reports it
	}
	switch offer := cell(2); offer {
	case "", "指定园所":
		input.Offer = "campus"
	case "公办园":
		input.Offer = "public"
	case "民办园":
		input.Offer = "private"
	default:
		input.Offer = offer
	}

	if street := cell(3); street != "" {
		input.StreetCode = street
		if code, ok := refs.streetNames[street]; ok {
			input.StreetCode = code
		}
	}
	if committee := cell(4); committee != "" {
		input.CommitteeCode = committee
		if code, ok := refs.committeeNames[[2]string{input.StreetCode, committee}]; ok {
			input.CommitteeCode = code
		}
	}
	if campus := cell(8); campus != "" {
		if id, err := strconv.ParseInt(campus, 10, 64); err == nil {
			input.CampusID = id
		} else {
			switch ids := refs.campusNames[campus]; len(ids) {
			case 1:
				input.CampusID = ids[0]
			case 0:
				input.CampusID = -1
				problems = append(problems, FieldError{Field: "campusId", Code: "campus_not_found",
					Message: fmt.Sprintf("本区没有名为“%s”的幼儿园或办园点。", campus)})
			default:
				input.CampusID = -1
				problems = append(problems, FieldError{Field: "campusId", Code: "ambiguous_campus",
					Message: fmt.Sprintf("“%s”有多个办园点，请填写办园点编号，或幼儿园名称加办园点名称。", campus)})
			}
		}
	}
	return input, problems
}

// writeXLSXHeaders sets the headers of an xlsx download named filename.
func writeXLSXHeaders(w http.ResponseWriter, filename string) {
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(filename))
	w.Header().Set("Cache-Control", "no-store")
}
