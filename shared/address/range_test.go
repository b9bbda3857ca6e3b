package address_test

import (
	"errors"
	"testing"

	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
)

func mustRange(t *testing.T, text string, parity address.Parity) address.Range {
	t.Helper()
	r, err := address.ParseRange(text, parity)
	if err != nil {
		t.Fatalf("ParseRange(%q) returned %v", text, err)
	}
	return r
}

func mustAddress(t *testing.T, text string) *address.Address {
	t.Helper()
	a, err := address.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q) returned %v", text, err)
	}
	return &a
}

func TestRangeContains(t *testing.T) {
	tests := []struct {
		rule    string
		parity  address.Parity
		address string
		want    bool
	}{
		// Range ends are inclusive, and parity looks at the bare number.
		{"漕溪北路100-120号", address.ParityAll, "漕溪北路100号", true},
		{"漕溪北路100-120号", address.ParityAll, "漕溪北路120号", true},
		{"漕溪北路100-120号", address.ParityAll, "漕溪北路99号", false},
		{"漕溪北路100-120号", address.ParityAll, "漕溪北路121号", false},
		{"漕溪北路100-120号", address.ParityEven, "漕溪北路100号", true},
		{"漕溪北路100-120号", address.ParityEven, "漕溪北路101号", false},
		{"漕溪北路100-120号", address.ParityEven, "漕溪北路118号", true},
		{"漕溪北路101-121号", address.ParityOdd, "漕溪北路101号", true},
		{"漕溪北路101-121号", address.ParityOdd, "漕溪北路121号", true},
		{"漕溪北路101-121号", address.ParityOdd, "漕溪北路120号", false},
		{"漕溪北路101-121号", address.ParityOdd, "漕溪北路123号", false},
		{"漕溪北路100号-120号", address.ParityAll, "漕溪北路１１０号", true},
		{"漕溪北路１００－１２０号", address.ParityAll, "漕溪北路110号", true},
		// Another road never matches.
		{"漕溪北路100-120号", address.ParityAll, "漕溪路110号", false},
		// Suffixes: a bare From starts at the bare number, a bare To covers
		// its number's suffixes, a To with a suffix ends there.
		{"东兰路100-120号", address.ParityEven, "东兰路100号甲", true},
		{"东兰路100-120号", address.ParityEven, "东兰路120号乙", true},
		{"东兰路100-120号乙", address.ParityEven, "东兰路120号乙", true},
		{"东兰路100-120号乙", address.ParityEven, "东兰路120号丙", false},
		{"东兰路100号乙-120号", address.ParityEven, "东兰路100号甲", false},
		{"东兰路100号乙-120号", address.ParityEven, "东兰路100号丙", true},
		{"东兰路100号乙-120号", address.ParityEven, "东兰路101号甲", false},
		// Without a lane in the rule, a lane's number counts along the road.
		{"古美路1500-1600号", address.ParityEven, "古美路1500弄12号", true},
		{"古美路1500-1600号", address.ParityOdd, "古美路1501弄12号", true},
		{"古美路1500-1600号", address.ParityOdd, "古美路1500弄13号", false},
		// Lane ranges cover every house in their lanes.
		{"宝山路1~5弄", address.ParityAll, "宝山路3弄20号", true},
		{"宝山路1弄-5弄", address.ParityOdd, "宝山路5弄1号", true},
		{"宝山路1~5弄", address.ParityOdd, "宝山路4弄1号", false},
		{"宝山路1~5弄", address.ParityAll, "宝山路6弄1号", false},
		{"宝山路1~5弄", address.ParityAll, "宝山路3号", false},
		{"宝山路四九九弄", address.ParityAll, "宝山路499弄3支弄2号", true},
		// A house range inside a lane, and inside a sub-lane.
		{"大木桥路88弄1-20号", address.ParityAll, "大木桥路88弄20号", true},
		{"大木桥路88弄1-20号", address.ParityAll, "大木桥路88弄21号", false},
		{"大木桥路88弄1-20号", address.ParityAll, "大木桥路89弄2号", false},
		{"大木桥路88弄1-20号", address.ParityAll, "大木桥路88号", false},
		{"大木桥路88弄1-20号", address.ParityAll, "大木桥路88弄2支弄5号", false},
		{"大木桥路88弄2支弄1-9号", address.ParityOdd, "大木桥路88弄2支弄9号", true},
		{"大木桥路88弄2支弄1-9号", address.ParityOdd, "大木桥路88弄2支弄8号", false},
		{"大木桥路88弄2支弄1-9号", address.ParityOdd, "大木桥路88弄3支弄9号", false},
		{"大木桥路88弄2支弄", address.ParityAll, "大木桥路88弄2支弄15号", true},
		{"大木桥路88弄2支弄", address.ParityAll, "大木桥路88弄15号", false},
		// A whole road, or one side of it.
		{"医学院路", address.ParityAll, "医学院路138号", true},
		{"医学院路", address.ParityEven, "医学院路138号", true},
		{"医学院路", address.ParityEven, "医学院路139号", false},
		// A single number.
		{"淮海中路1000号", address.ParityAll, "淮海中路1000号甲", true},
		{"淮海中路1000号", address.ParityAll, "淮海中路1002号", false},
	}
	for _, test := range tests {
		t.Run(test.rule+" "+test.parity.Label()+" "+test.address, func(t *testing.T) {
			r := mustRange(t, test.rule, test.parity)
			if got := r.Contains(mustAddress(t, test.address)); got != test.want {
				t.Errorf("%q (%s) contains %q = %v, want %v", test.rule, test.parity.Label(), test.address, got, test.want)
			}
		})
	}
}

func TestRangeStringRoundTrip(t *testing.T) {
	for _, text := range []string{
		"漕溪北路100-120号", "漕溪北路１００号－１２０号", "宝山路1~5弄", "宝山路四九九弄", "大木桥路88弄1-20号",
		"大木桥路88弄2支弄1-9号", "大木桥路88弄2支弄", "医学院路", "东兰路100号乙-120号",
	} {
		t.Run(text, func(t *testing.T) {
			r := mustRange(t, text, address.ParityAll)
			again := mustRange(t, r.String(), address.ParityAll)
			if again != r {
				t.Errorf("ParseRange(%q) = %+v, but its String %q parses to %+v", text, r, r.String(), again)
			}
		})
	}
}

func TestParseRangeRejects(t *testing.T) {
	tests := []struct {
		text   string
		parity address.Parity
		code   string
	}{
		{"100-120号", address.ParityAll, address.CodeMissingRoad},
		{"漕溪北路120-100号", address.ParityAll, address.CodeReversedRange},
		{"漕溪北路100号-100号甲号", address.ParityAll, address.CodeInvalidRange},
		{"漕溪北路100-120", address.ParityAll, address.CodeInvalidRange},
		{"漕溪北路100弄-120号", address.ParityAll, address.CodeInvalidRange},
		{"漕溪北路1~5弄3号", address.ParityAll, address.CodeInvalidRange},
		{"漕溪北路100号近宛平路", address.ParityAll, address.CodeInvalidRange},
		{"漕溪北路101号", address.ParityEven, address.CodeParityOfSingleNumber},
		{"漕溪北路1-9999999号", address.ParityAll, address.CodeNumberTooLarge},
	}
	for _, test := range tests {
		t.Run(test.text, func(t *testing.T) {
			r, err := address.ParseRange(test.text, test.parity)
			if err == nil {
				t.Fatalf("ParseRange(%q) = %+v, want error %s", test.text, r, test.code)
			}
			var apiErr *apierror.Error
			if !errors.As(err, &apiErr) || apiErr.Code != test.code {
				t.Errorf("ParseRange(%q) error = %v, want code %s", test.text, err, test.code)
			}
		})
	}
}

func TestParseParity(t *testing.T) {
	for text, want := range map[string]address.Parity{
		"": address.ParityAll, "全部": address.ParityAll, "all": address.ParityAll,
		"单号": address.ParityOdd, "odd": address.ParityOdd, "双号": address.ParityEven, "even": address.ParityEven,
	} {
		if got, err := address.ParseParity(text); err != nil || got != want {
			t.Errorf("ParseParity(%q) = %v, %v, want %v", text, got, err, want)
		}
	}
	if _, err := address.ParseParity("单双"); err == nil {
		t.Error("ParseParity accepted 单双")
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"漕溪北路100弄3号502室", "宝山路四九九弄5号", "东兰路120号甲", "１００－１２０号", "十十十百千弄"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := address.Parse(text)
		if err == nil && a.Road == "" {
			t.Errorf("Parse(%q) returned an address without a road", text)
		}
		_, _ = address.ParseRange(text, address.ParityOdd)
	})
}
