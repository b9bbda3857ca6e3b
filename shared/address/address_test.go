package address_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
)

func n(value int) address.Number { return address.Number{Value: value} }

func ns(value int, suffix rune) address.Number { return address.Number{Value: value, Suffix: suffix} }

// Road names come from Shanghai's residents' committees (their names carry
// the road, often with a Chinese-numeral lane such as 宝山路四九九弄).
func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want address.Address
	}{
		{"漕溪北路100号", address.Address{Road: "漕溪北路", House: n(100)}},
		{"上海市徐汇区漕溪北路100弄3号502室", address.Address{Road: "漕溪北路", Lane: n(100), House: n(3), Room: "502"}},
		{"徐汇区漕溪北路１００弄３号５０２室", address.Address{Road: "漕溪北路", Lane: n(100), House: n(3), Room: "502"}},
		{"上海肇嘉浜路７９８号", address.Address{Road: "肇嘉浜路", House: n(798)}},
		{"大木桥路88弄2支弄15号", address.Address{Road: "大木桥路", Lane: n(88), SubLane: 2, House: n(15)}},
		{"大木桥路８８弄２支弄１５号６０１室", address.Address{Road: "大木桥路", Lane: n(88), SubLane: 2, House: n(15), Room: "601"}},
		{"东兰路120号甲", address.Address{Road: "东兰路", House: ns(120, '甲')}},
		{"东兰路120甲号", address.Address{Road: "东兰路", House: ns(120, '甲')}},
		{"东兰路120号乙301室", address.Address{Road: "东兰路", House: ns(120, '乙'), Room: "301"}},
		{"古美路1500弄12号丙", address.Address{Road: "古美路", Lane: n(1500), House: ns(12, '丙')}},
		{"桂林路46号A", address.Address{Road: "桂林路", House: ns(46, 'A')}},
		{"桂林路46号ａ", address.Address{Road: "桂林路", House: ns(46, 'A')}},
		{"宝山路四九九弄5号", address.Address{Road: "宝山路", Lane: n(499), House: n(5)}},
		{"芷江中路二九四弄十二号", address.Address{Road: "芷江中路", Lane: n(294), House: n(12)}},
		{"宝昌路六百弄3号", address.Address{Road: "宝昌路", Lane: n(600), House: n(3)}},
		{"洛川中路一千一百弄22号", address.Address{Road: "洛川中路", Lane: n(1100), House: n(22)}},
		{"中山北路八零五弄一号", address.Address{Road: "中山北路", Lane: n(805), House: n(1)}},
		{"延长中路七二七弄二十号", address.Address{Road: "延长中路", Lane: n(727), House: n(20)}},
		{"大宁路五零五弄一百零五号", address.Address{Road: "大宁路", Lane: n(505), House: n(105)}},
		{"四川北路1500号", address.Address{Road: "四川北路", House: n(1500)}},
		{"中山东一路18号", address.Address{Road: "中山东一路", House: n(18)}},
		{"杨浦区三门路三号", address.Address{Road: "三门路", House: n(3)}},
		{"长宁区镇宁路200弄5号", address.Address{Road: "镇宁路", Lane: n(200), House: n(5)}},
		{"松江区九亭镇沪亭北路99弄8号", address.Address{Road: "沪亭北路", Lane: n(99), House: n(8)}},
		{"徐汇区枫林路街道医学院路138号", address.Address{Road: "医学院路", House: n(138)}},
		{"浦东新区世纪大道2001号", address.Address{Road: "世纪大道", House: n(2001)}},
		{"浦东新区张杨路 1200 弄 6 号 1801 室", address.Address{Road: "张杨路", Lane: n(1200), House: n(6), Room: "1801"}},
		{"仙霞路350弄12号楼5层502室", address.Address{Road: "仙霞路", Lane: n(350), House: n(12), Room: "502"}},
		{"芙蓉江路388弄3幢1201室", address.Address{Road: "芙蓉江路", Lane: n(388), House: n(3), Room: "1201"}},
		{"定威路100弄8栋", address.Address{Road: "定威路", Lane: n(100), House: n(8)}},
		{"田林路200弄田林十二村3号", address.Address{Road: "田林路", Lane: n(200), House: n(3)}},
		{"宾阳路120", address.Address{Road: "宾阳路", House: n(120)}},
		{"宾阳路120弄", address.Address{Road: "宾阳路", Lane: n(120)}},
		{"宾阳路120弄5", address.Address{Road: "宾阳路", Lane: n(120), House: n(5)}},
		{"汉口路９９号（近山西南路）", address.Address{Road: "汉口路", House: n(99)}},
		{"淮阴路１２３（近天山路）", address.Address{Road: "淮阴路", House: n(123)}},
		{"南星路１２号－甲", address.Address{Road: "南星路", House: n(12)}},
		{"粤秀路88弄7号甲1101室", address.Address{Road: "粤秀路", Lane: n(88), House: ns(7, '甲'), Room: "1101"}},
		{"永安路2号", address.Address{Road: "永安路", House: n(2)}},
		{"云锦路701弄", address.Address{Road: "云锦路", Lane: n(701)}},
		{"青浦区朱家角镇沈巷村12组34号", address.Address{Road: "沈巷村", House: n(34)}},
		{"闵行区七宝镇漕宝路1888弄10号2单元301室", address.Address{Road: "漕宝路", Lane: n(1888), House: n(10), Room: "301"}},
	}
	for _, test := range tests {
		t.Run(test.text, func(t *testing.T) {
			got, err := address.Parse(test.text)
			if err != nil {
				t.Fatalf("Parse(%q) returned %v", test.text, err)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", test.text, diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		text string
		code string
	}{
		{"", address.CodeMissingRoad},
		{"１００号", address.CodeMissingRoad},
		{"上海市徐汇区", address.CodeMissingRoad},
		{"漕溪北路", address.CodeMissingNumber},
		{"漕溪北路甲号", address.CodeMissingNumber},
		{"漕溪北路100-120号", address.CodeRangeInAddress},
		{"漕溪北路1~5弄", address.CodeRangeInAddress},
		{"漕溪北路3支弄5号", address.CodeSubLaneWithoutLane},
		{"漕溪北路1234567号", address.CodeNumberTooLarge},
	}
	for _, test := range tests {
		t.Run(test.text, func(t *testing.T) {
			got, err := address.Parse(test.text)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %s", test.text, got, test.code)
			}
			var apiErr *apierror.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("Parse(%q) error %v is not an *apierror.Error", test.text, err)
			}
			if apiErr.Code != test.code {
				t.Errorf("Parse(%q) code = %s, want %s", test.text, apiErr.Code, test.code)
			}
			if apiErr.Message == "" {
				t.Errorf("Parse(%q) has no message", test.text)
			}
		})
	}
}
