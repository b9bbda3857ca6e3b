package enrolment

import (
	"strconv"
	"strings"
)

// Registration statuses. StatusAccepted (已受理) exists only in Redis, between
// the edge's receipt and the back office's commit.
const (
	StatusAccepted                = "accepted"                  // 已受理
	StatusRecorded                = "recorded"                  // 已入库
	StatusVerified                = "verified"                  // 已核验
	StatusNeedsManualVerification = "needs_manual_verification" // 待人工核验
	// StatusRejectedDuplicate marks a receipt whose record was not stored
	// because the database already held another registration of the child.
	// It happens only when Redis lost the uniqueness key, as on a failover.
	StatusRejectedDuplicate = "rejected_duplicate" // 重复登记，未入库
	// StatusFailed marks a receipt whose entry went to the dead-letter stream.
	StatusFailed = "failed" // 处理异常
)

// NotStored reports whether a receipt's status says that the back office
// did not store its record: a duplicate of a stored child, or a dead letter.
func NotStored(status string) bool {
	return status == StatusRejectedDuplicate || status == StatusFailed
}

// Application statuses beyond the shared ones above.
const (
	StatusDocumentsVerified = "documents_verified" // 验证通过
	StatusReturned          = "returned"           // 已退回
	StatusAdmitted          = "admitted"           // 已录取
	StatusNotAdmitted       = "not_admitted"       // 未录取
	StatusDeleted           = "deleted"            // 已删除
)

var statusLabels = map[string]string{
	StatusAccepted:                "已受理",
	StatusRecorded:                "已入库",
	StatusVerified:                "已核验",
	StatusNeedsManualVerification: "待人工核验",
	StatusRejectedDuplicate:       "重复登记，未入库",
	StatusFailed:                  "处理异常，请联系所在区招生服务点",
	StatusDocumentsVerified:       "验证通过",
	StatusReturned:                "已退回",
	StatusAdmitted:                "已录取",
	StatusNotAdmitted:             "未录取",
	StatusDeleted:                 "已删除",
}

// NumberTakenLabel is the label of a failed receipt marked
// FieldNumberTaken. Unlike the generic label of StatusFailed, it names the
// fix, a new submission.
const NumberTakenLabel = "未能入库，请重新提交"

// StatusLabel returns the Chinese label of a status, or the status itself
// when it is unknown.
func StatusLabel(status string) string {
	if label, ok := statusLabels[status]; ok {
		return label
	}
	return status
}

// EffectiveStatus returns the status a parent sees for a receipt's hash
// fields. The drainer does not write "recorded" into every receipt: a
// receipt still "accepted" whose stream entry lies below the watermark (the
// ID below which every entry has been acknowledged, and so stored) is
// recorded. Outcomes other than stored (a rejected duplicate, a dead letter)
// are written into the receipt before the entry is acknowledged, so they
// take precedence.
func EffectiveStatus(fields map[string]string, watermark string) string {
	status := fields[FieldStatus]
	if status == StatusAccepted && watermark != "" && fields[FieldEntry] != "" && LessStreamID(fields[FieldEntry], watermark) {
		return StatusRecorded
	}
	return status
}

// LessStreamID compares two Redis stream IDs ("milliseconds-sequence").
func LessStreamID(a, b string) bool {
	aMillis, aSeq := splitStreamID(a)
	bMillis, bSeq := splitStreamID(b)
	if aMillis != bMillis {
		return aMillis < bMillis
	}
	return aSeq < bSeq
}

func splitStreamID(id string) (uint64, uint64) {
	millis, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(millis, 10, 64)
	n, _ := strconv.ParseUint(seq, 10, 64)
	return m, n
}
