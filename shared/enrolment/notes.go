package enrolment

// Notes the back office writes into a parent's receipt beside a status.
// The receipt restore (backoffice/receipts) writes them again from what
// PostgreSQL holds, so each is built in one place.

// RegisteredElsewhereNote is the note of a registration not stored because
// another family registered the child first. The edge rejects such a
// submission with the same words when Redis still has the child's claim.
const RegisteredElsewhereNote = "该幼儿本年度已由其他账号完成信息登记，每名幼儿每年只能登记一次。如有疑问，请携带幼儿证件联系所在区招生服务点。"

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
