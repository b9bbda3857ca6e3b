package monitoring

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

const (
	maxImportBytes = 32 << 20
	// MaxImportRows is the most data rows one import file may hold, about
	// a month of a large kindergarten.
	MaxImportRows = 100_000
)

// Errors of the bulk import.
var (
	ErrImportFileMissing  = apierror.Invalid("file", "import_file_missing", "请选择要导入的 CSV 或 Excel（.xlsx）文件。")
	ErrImportFileType     = apierror.Invalid("file", "import_file_type", "只支持 CSV 或 Excel（.xlsx）文件。")
	ErrImportFileBroken   = apierror.Invalid("file", "import_file_unreadable", "文件无法读取，请确认是 UTF-8 编码的 CSV 或 .xlsx 文件。")
	ErrImportHeader       = apierror.Invalid("file", "import_header_invalid", "第一行应为列名，且至少包含：幼儿标识、年级、日期、考勤状态。")
	ErrImportTooManyRows  = apierror.Invalid("file", "import_too_many_rows", "每个文件最多 "+strconv.Itoa(MaxImportRows)+" 行，请拆分后导入。")
	ErrImportKindergarten = apierror.Invalid("kindergartenId", "invalid_kindergarten_id", "请填写正确的园所编号。")
)

// importColumns maps the accepted column names, Chinese or the JSON field
// names, to the RecordInput field they fill.
var importColumns = map[string]string{
	"childkey": "childKey", "幼儿标识": "childKey",
	"campusid": "campusId", "办园点编号": "campusId",
	"grade": "grade", "年级": "grade",
	"classname": "className", "班级": "className",
	"date": "date", "日期": "date",
	"status": "status", "考勤状态": "status",
	"sicktype": "sickType", "病假类型": "sickType",
	"arrival": "arrival", "来园时间": "arrival",
	"departure": "departure", "离园时间": "departure",
	"morningcheck": "morningCheck", "晨检结果": "morningCheck",
	"reason": "reason", "异常原因": "reason",
	"senthome": "sentHome", "是否返家": "sentHome",
	"note": "note", "说明": "note",
}

// chineseValues maps the Chinese labels an import file may use to the code
// names of the API, per field.
var chineseValues = map[string]map[string]string{
	"grade":        {"托班": "nursery", "小班": "junior", "中班": "middle", "大班": "senior", "混龄班": "mixed"},
	"status":       {"出勤": "present", "病假": "sick_leave", "事假": "personal_leave", "未考勤": "not_checked"},
	"sickType":     {"疾病类": "disease", "症状类": "symptom", "其他": "other"},
	"morningCheck": {"正常": "normal", "异常": "abnormal", "未晨检": "not_checked"},
	"reason": {"体温异常": "temperature", "口腔异常": "mouth", "眼部异常": "eyes", "皮肤（手部）异常": "skin_hands",
		"皮肤（面部）异常": "skin_face", "其他": "other"},
}

type importResponse struct {
	KindergartenID int64         `json:"kindergartenId"`
	Rows           int           `json:"rows"`
	Imported       int           `json:"imported"`
	Rejected       int           `json:"rejected"`
	Errors         []RecordError `json:"errors"`
	Result         IngestResult  `json:"result"`
}

// importFile handles POST /api/v1/monitoring/attendance/import: a
// multipart form with kindergartenId and a CSV or .xlsx file. Valid rows
// are stored, in batches of MaxBatchRecords, and every invalid row is
// listed with its line number, field and reason.
func (h *Handlers) importFile(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apierror.ErrBodyTooLarge
		}
		return ErrImportFileMissing
	}
	defer r.MultipartForm.RemoveAll()
	kindergartenID, err := strconv.ParseInt(r.FormValue("kindergartenId"), 10, 64)
	if err != nil {
		return ErrImportKindergarten
	}
	staff := access.StaffFrom(r.Context())
	kindergarten, err := h.kindergartenInScope(r.Context(), staff.Scope, kindergartenID)
	if err != nil {
		return err
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		return ErrImportFileMissing
	}
	defer file.Close()

	var rows [][]string
	var lines []int
	switch strings.ToLower(filepath.Ext(header.Filename)) {
	case ".csv":
		rows, lines, err = readCSV(file)
	case ".xlsx":
		rows, lines, err = readXLSX(file)
	default:
		return ErrImportFileType
	}
	if err != nil {
		return err
	}
	inputs, inputLines, problems, err := recordInputs(rows, lines)
	if err != nil {
		return err
	}

	response := importResponse{KindergartenID: kindergarten.ID, Rows: len(rows) - 1}
	records, invalid := ParseBatch(inputs, Today(h.Now()), inputLines)
	problems = append(problems, invalid...)
	slices.SortStableFunc(problems, func(a, b RecordError) int { return a.Row - b.Row })
	days := map[time.Time]bool{}
	for _, record := range records {
		days[record.Day] = true
	}
	for start := 0; start < len(records); start += MaxBatchRecords {
		chunk := records[start:min(start+MaxBatchRecords, len(records))]
		result, err := h.store(r, staff, kindergarten, chunk, "文件导入（"+header.Filename+"）")
		if err != nil {
			return err
		}
		response.Result.Records += result.Records
		response.Result.NewChildren += result.NewChildren
		response.Result.AbnormalChecks += result.AbnormalChecks
	}
	response.Result.Days = len(days)
	response.Imported, response.Rejected, response.Errors = len(records), len(problems), problems
	if response.Errors == nil {
		response.Errors = []RecordError{}
	}
	httpx.WriteJSON(w, http.StatusOK, response)
	return nil
}

// readCSV returns the rows of a CSV file with the line each starts on,
// because the reader skips blank lines.
func readCSV(file io.Reader) ([][]string, []int, error) {
	reader := csv.NewReader(file)
	reader.FieldsPerRecord = -1
	reader.TrimLeadingSpace = true
	var rows [][]string
	var lines []int
	for {
		row, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return rows, lines, nil
		}
		if err != nil {
			return nil, nil, ErrImportFileBroken
		}
		if len(rows) > MaxImportRows {
			return nil, nil, ErrImportTooManyRows
		}
		line, _ := reader.FieldPos(0)
		rows = append(rows, row)
		lines = append(lines, line)
	}
}

// readXLSX returns the rows of the first sheet of a workbook with their row
// numbers. excelize's iterator returns an empty row for a row the sheet
// skips, so the position is the sheet row, as a test with a gap checks.
func readXLSX(file io.Reader) ([][]string, []int, error) {
	workbook, err := excelize.OpenReader(file)
	if err != nil {
		return nil, nil, ErrImportFileBroken
	}
	defer workbook.Close()
	sheets := workbook.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, ErrImportFileBroken
	}
	iterator, err := workbook.Rows(sheets[0])
	if err != nil {
		return nil, nil, ErrImportFileBroken
	}
	defer iterator.Close()
	var rows [][]string
	var lines []int
	for iterator.Next() {
		row, err := iterator.Columns()
		if err != nil {
			return nil, nil, ErrImportFileBroken
		}
		if len(rows) > MaxImportRows {
			return nil, nil, ErrImportTooManyRows
		}
		rows = append(rows, row)
		lines = append(lines, len(rows))
	}
	if err := iterator.Error(); err != nil {
		return nil, nil, ErrImportFileBroken
	}
	return rows, lines, nil
}

// recordInputs turns the rows of a file, the first being the header, into
// record inputs. fileLines[i] is the line of rows[i] in the file, and
// inputLines[i] the line of input i. Rows whose values
// cannot be read at all (a campus that is not a number) come back as
// problems; blank rows are skipped.
func recordInputs(rows [][]string, fileLines []int) (inputs []RecordInput, inputLines []int, problems []RecordError, err error) {
	if len(rows) == 0 {
		return nil, nil, nil, ErrImportHeader
	}
	fields := make([]string, len(rows[0]))
	present := map[string]bool{}
	for i, name := range rows[0] {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		fields[i] = importColumns[name]
		present[fields[i]] = true
	}
	for _, required := range []string{"childKey", "grade", "date", "status"} {
		if !present[required] {
			return nil, nil, nil, ErrImportHeader
		}
	}

	for index, row := range rows[1:] {
		line := fileLines[index+1]
		if strings.TrimSpace(strings.Join(row, "")) == "" {
			continue
		}
		input := RecordInput{}
		var problem *FieldError
		for i, value := range row {
			if i >= len(fields) || fields[i] == "" {
				continue
			}
			value = strings.TrimSpace(value)
			if mapped, ok := chineseValues[fields[i]][value]; ok {
				value = mapped
			}
			switch fields[i] {
			case "childKey":
				input.ChildKey = value
			case "campusId":
				if value != "" {
					id, err := strconv.ParseInt(value, 10, 64)
					if err != nil {
						problem = &FieldError{Field: "campusId", Message: "办园点编号应为数字。"}
					}
					input.CampusID = id
				}
			case "grade":
				input.Grade = value
			case "className":
				input.ClassName = value
			case "date":
				input.Date = value
			case "status":
				input.Status = value
			case "sickType":
				input.SickType = value
			case "arrival":
				input.Arrival = value
			case "departure":
				input.Departure = value
			case "morningCheck":
				input.MorningCheck = value
			case "reason":
				input.Reason = value
			case "sentHome":
				switch strings.ToLower(value) {
				case "", "否", "false", "0", "留园":
				case "是", "true", "1", "返家":
					input.SentHome = true
				default:
					problem = &FieldError{Field: "sentHome", Message: "是否返家应填“是”或“否”。"}
				}
			case "note":
				input.Note = value
			}
		}
		if problem != nil {
			problems = append(problems, RecordError{Row: line, FieldError: *problem})
			continue
		}
		inputs = append(inputs, input)
		inputLines = append(inputLines, line)
	}
	return inputs, inputLines, problems, nil
}
