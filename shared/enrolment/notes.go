package enrolment

// Notes the back office writes into a parent's receipt beside a status.
// The receipt restore (backoffice/receipts) writes them again from what
// PostgreSQL holds, so each is built in one place.

// ReturnNote is the note of an application returned to the family.
func ReturnNote(reason string) string { return "退回原因：" + reason }

// DeletionNote is the note of a record deleted on an approved request.
func DeletionNote(reason string) string { return "已删除：" + reason }

// AdmissionNote is the note of a confirmed admission outcome: the campus
// of an admission ("kindergarten（campus）"), or the reason of an outcome
// not admitted. It is empty when there is nothing to tell.
func AdmissionNote(outcome, campus, reason string) string {
	if outcome == StatusAdmitted && campus != "" {
		return "录取园所：" + campus + "。请按区招生部门通知的时间办理入园手续。"
	}
	if outcome == StatusNotAdmitted && reason != "" {
		return "未录取原因：" + reason
	}
	return ""
}
