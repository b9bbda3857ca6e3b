package seed

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// validCreditCode checks the GB 32100-2015 check character independently of
// creditCodeCheck: the weight of position i is computed as 3^i mod 31.
func validCreditCode(code string) bool {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if len(code) != 18 {
		return false
	}
	sum, weight := 0, 1
	for i := range 17 {
		value := strings.IndexByte(alphabet, code[i])
		if value < 0 {
			return false
		}
		sum += value * weight
		weight = weight * 3 % 31
	}
	return alphabet[(31-sum%31)%31] == code[17]
}

// validOrganisationCode checks a 9-character GB 11714-1997 organisation code
// whose body is 8 digits or capital letters (A = 10).
func validOrganisationCode(code string) bool {
	if len(code) != 9 {
		return false
	}
	weights := []int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, weight := range weights {
		c := code[i]
		switch {
		case c >= '0' && c <= '9':
			sum += int(c-'0') * weight
		case c >= 'A' && c <= 'Z':
			sum += int(c-'A'+10) * weight
		default:
			return false
		}
	}
	want := "0123456789X0"[11-sum%11]
	return code[8] == want
}

func TestCreditCodeCheck(t *testing.T) {
	tests := []struct {
		code  string
		valid bool
	}{
		{"91350100M000100Y43", true}, // a published code
		{"91350100M000100Y44", false},
		{"91350100M000100Y4", false},
		{"91350100M000I00Y43", false}, // I is not in the alphabet
	}
	for _, test := range tests {
		t.Run(test.code, func(t *testing.T) {
			if got := validCreditCode(test.code); got != test.valid {
				t.Errorf("validCreditCode(%s) = %v, want %v", test.code, got, test.valid)
			}
			check, ok := creditCodeCheck(safePrefix(test.code, 17))
			got := ok && len(test.code) == 18 && check == test.code[17]
			if got != test.valid {
				t.Errorf("creditCodeCheck(%s) = %q, %v; code valid = %v, want %v", safePrefix(test.code, 17), check, ok, got, test.valid)
			}
		})
	}
}

func safePrefix(s string, n int) string {
	return s[:min(n, len(s))]
}

func TestRandomOrgCodeValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		public := i%2 == 0
		code := randomOrgCode(rng, "310104", public)
		if !validCreditCode(code) {
			t.Fatalf("randomOrgCode gave %s with an invalid check character", code)
		}
		if !validOrganisationCode(code[8:17]) {
			t.Fatalf("randomOrgCode gave %s with an invalid organisation code", code)
		}
		if want := map[bool]string{true: "12310104", false: "52310104"}[public]; !strings.HasPrefix(code, want) {
			t.Fatalf("randomOrgCode(public=%v) = %s, want prefix %s", public, code, want)
		}
	}
}

func TestOrganisationCodeCheck(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"M000100Y", '4'}, // from the published credit code 91350100M000100Y43
		{"00000000", '0'}, // remainder 0: 11 is written 0
		{"40000000", 'X'}, // remainder 1: 10 is written X
		{"10000000", '8'},
	}
	for _, test := range tests {
		got, ok := organisationCodeCheck(test.body)
		if !ok || got != test.want {
			t.Errorf("organisationCodeCheck(%s) = %q, %v, want %q, true", test.body, got, ok, test.want)
		}
		if !validOrganisationCode(test.body + string(test.want)) {
			t.Errorf("the independent check rejects %s%c", test.body, test.want)
		}
	}
	for _, body := range []string{"0000000", "0000000a", "000000-0"} {
		if _, ok := organisationCodeCheck(body); ok {
			t.Errorf("organisationCodeCheck(%q) succeeded, want false", body)
		}
	}
}

func TestDistrictAtKnownPoints(t *testing.T) {
	loaded, err := readDivisions()
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := readDistrictShapes(loaded.districts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   point
		want string
	}{
		{"People's Square", point{121.475, 31.232}, "310101"},
		{"Xujiahui", point{121.437, 31.195}, "310104"},
		{"Lujiazui", point{121.505, 31.240}, "310115"},
		{"Songjiang new town", point{121.225, 31.033}, "310117"},
		{"Chongming Chengqiao", point{121.397, 31.626}, "310151"},
		{"East China Sea", point{122.5, 31.0}, ""},
		{"Taihu in Jiangsu", point{120.2, 31.2}, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := districtAt(shapes, test.at); got != test.want {
				t.Errorf("districtAt(%v) = %q, want %q", test.at, got, test.want)
			}
		})
	}
}

func TestPolygonHole(t *testing.T) {
	square := func(minimum, maximum float64) []point {
		return []point{{minimum, minimum}, {maximum, minimum}, {maximum, maximum}, {minimum, maximum}, {minimum, minimum}}
	}
	shape, err := newDistrictShape("000000", "test", [][][][]float64{{toRaw(square(0, 10)), toRaw(square(4, 6))}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   point
		want bool
	}{
		{point{2, 2}, true},
		{point{5, 5}, false}, // inside the hole
		{point{11, 5}, false},
		{point{-1, 5}, false},
		{point{7, 5}, true},
	}
	for _, test := range tests {
		if got := shape.contains(test.at); got != test.want {
			t.Errorf("contains(%v) = %v, want %v", test.at, got, test.want)
		}
	}
}

func toRaw(ring []point) [][]float64 {
	var raw [][]float64
	for _, p := range ring {
		raw = append(raw, []float64{p.lon, p.lat})
	}
	return raw
}

func TestApportionKindergartens(t *testing.T) {
	loaded, err := readDivisions()
	if err != nil {
		t.Fatal(err)
	}
	for _, total := range []int{16, 17, 100, 1600, 5000} {
		counts, err := apportionKindergartens(loaded.districts, total)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for i, n := range counts {
			if n < 1 {
				t.Errorf("total %d: district %s gets %d kindergartens, want at least 1", total, loaded.districts[i].code, n)
			}
			sum += n
		}
		if sum != total {
			t.Errorf("total %d: counts add up to %d", total, sum)
		}
	}
}

func TestStreetStem(t *testing.T) {
	tests := []struct {
		name   string
		stem   string
		road   string
		hasOne bool
	}{
		{"天平路街道", "天平路", "天平路", true},
		{"康健新村街道", "康健新村", "康健路", true},
		{"真如镇街道", "真如", "真如路", true},
		{"川沙新镇", "川沙", "川沙路", true},
		{"唐镇", "唐镇", "唐镇路", true},
		{"横沙乡", "横沙", "横沙路", true},
		{"新村乡", "新村", "新村路", true},
		{"长桥街道", "长桥", "长桥路", true},
		{"莘庄工业区", "", "", false},
		{"东海农场", "", "", false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			stem, ok := streetStem(test.name)
			if stem != test.stem || ok != test.hasOne {
				t.Errorf("streetStem(%s) = %q, %v, want %q, %v", test.name, stem, ok, test.stem, test.hasOne)
			}
			if ok {
				if road := roadFromStem(stem); road != test.road {
					t.Errorf("roadFromStem(%s) = %q, want %q", stem, road, test.road)
				}
			}
		})
	}
}

func TestChineseNumeral(t *testing.T) {
	tests := map[int]string{1: "一", 9: "九", 10: "十", 12: "十二", 20: "二十", 35: "三十五", 99: "九十九", 100: "100"}
	for n, want := range tests {
		if got := chineseNumeral(n); got != want {
			t.Errorf("chineseNumeral(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestKindergartenNamesUnique(t *testing.T) {
	names := nameGenerator{rng: rand.New(rand.NewPCG(3, 4)), used: map[string]bool{}}
	seen := map[string]bool{}
	// Far more names than the word list makes likely, to reach the numbered
	// fallback.
	for i := range 3000 {
		name := names.kindergartenName("黄浦区", "外滩", i%3 != 0)
		if seen[name] {
			t.Fatalf("name %s handed out twice", name)
		}
		seen[name] = true
		if !strings.HasPrefix(name, "上海市黄浦区") || !strings.HasSuffix(name, "幼儿园") {
			t.Fatalf("name %s lacks the 上海市黄浦区 prefix or the 幼儿园 suffix", name)
		}
	}
}
