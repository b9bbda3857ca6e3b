package identity

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Parent is a demo account offered on the sign-in page.
type Parent struct {
	Subject string `json:"sub"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	// Note describes what is special about the account, if anything.
	Note string `json:"note,omitempty"`
}

// MaskedPhone returns the phone number with its middle four digits hidden,
// as Chinese services show it ("139****1234").
func (p Parent) MaskedPhone() string {
	return MaskPhone(p.Phone)
}

var demoParents = []Parent{
	newParent("demo-parent-01", "张伟", ""),
	newParent("demo-parent-02", "王芳", ""),
	newParent("demo-parent-03", "李娜", ""),
	newParent("demo-parent-04", "刘洋", ""),
	newParent("demo-parent-05", "陈静", ""),
	newParent("demo-parent-06", "欧阳晓雯", "复姓"),
	newParent("demo-parent-07", "王䶮", "姓名含扩展 A 区生僻字"),
	newParent("demo-parent-08", "周测试不符", "登记幼儿姓名含“测试不符”时，用数核验返回不一致"),
}

func newParent(subject, name, note string) Parent {
	return Parent{Subject: subject, Name: name, Phone: PhoneFor(subject), Note: note}
}

// DemoParents returns the demo accounts in page order. Their subjects are
// "demo-parent-01" to "demo-parent-08".
func DemoParents() []Parent {
	return append([]Parent(nil), demoParents...)
}

// demoParent returns the demo account with the given subject.
func demoParent(subject string) (Parent, bool) {
	for _, parent := range demoParents {
		if parent.Subject == subject {
			return parent, true
		}
	}
	return Parent{}, false
}

// PhoneFor returns the mobile number the simulator reports for a subject:
// "139" followed by eight digits taken from the SHA-256 of the subject.
func PhoneFor(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return fmt.Sprintf("139%08d", binary.BigEndian.Uint64(sum[:8])%100_000_000)
}

// MaskPhone hides digits 4 to 7 of an 11-digit phone number. Other input is
// returned unchanged.
func MaskPhone(phone string) string {
	if len(phone) != 11 {
		return phone
	}
	return phone[:3] + "****" + phone[7:]
}
