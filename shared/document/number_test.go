package document

import (
	"testing"
	"time"
)

func TestNormaliseNumber(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"11010519491231002X", "11010519491231002X"},
		{"１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{"  110105 1949-1231 002x\t", "11010519491231002X"},
		{"110105\u300019491231\u2014002X", "11010519491231002X"},
		{"1234567890（ｂ）", "1234567890(B)"},
		{"h\u200b1234\u00a05678", "H12345678"},
		{"e12\u221234", "E1234"},
		{"", ""},
		{" －\u3000", ""},
		{"身份证", "身份证"},
		{"a<b>", "A<B>"},
		{"\xff1", "\uFFFD1"},
	}
	for _, test := range tests {
		if got := NormaliseNumber(test.input); got != test.want {
			t.Errorf("NormaliseNumber(%q) = %q, want %q", test.input, got, test.want)
		}
	}
}

func TestNormaliseNumberNoAllocationWhenNormalised(t *testing.T) {
	allocations := testing.AllocsPerRun(100, func() {
		NormaliseNumber("11010519491231002X")
	})
	if allocations != 0 {
		t.Errorf("NormaliseNumber of a normalised number made %v allocations, want 0", allocations)
	}
}

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		first17 string
		want    byte
	}{
		{"11010519491231002", 'X'}, // example from GB 11643-1999
		{"44052418800101001", '4'}, // example from GB 11643-1999
		{"31010420190315123", '5'},
		{"44030520200229005", '2'},
		{"81000020150704003", '9'},
		{"", 0},
		{"1101051949123100", 0},
		{"110105194912310021", 0},
		{"1101051949123100X", 0},
		{"１１０１０５１９４９１２３１００２", 0},
	}
	for _, test := range tests {
		if got := CheckDigit(test.first17); got != test.want {
			t.Errorf("CheckDigit(%q) = %q, want %q", test.first17, got, test.want)
		}
	}
}

func TestValidResidentIDForTest(t *testing.T) {
	tests := []struct {
		regionCode string
		birth      time.Time
		sequence   int
		sex        byte
		want       string
	}{
		{"110105", date(1949, 12, 31), 1, 'F', "11010519491231002X"},
		{"310104", date(2019, 3, 15), 61, 'M', "310104201903151235"},
		{"440305", date(2020, 2, 29), 2, 'M', "440305202002290052"},
		{"310104", date(2019, 3, 15), 561, 'M', "310104201903151235"},
		{"310104", date(2019, 3, 15), -439, 'M', "310104201903151235"},
		{"31010", date(2019, 3, 15), 1, 'M', ""},
		{"31010A", date(2019, 3, 15), 1, 'M', ""},
		{"310104", date(2019, 3, 15), 1, 'm', ""},
		{"310104", date(10000, 1, 1), 1, 'M', ""},
	}
	for _, test := range tests {
		got := ValidResidentIDForTest(test.regionCode, test.birth, test.sequence, test.sex)
		if got != test.want {
			t.Errorf("ValidResidentIDForTest(%q, %s, %d, %q) = %q, want %q",
				test.regionCode, test.birth.Format(time.DateOnly), test.sequence, test.sex, got, test.want)
		}
	}
}

func TestValidResidentIDForTestParses(t *testing.T) {
	birth := date(2021, 9, 1)
	seen := make(map[string]bool)
	for sequence := 0; sequence < 500; sequence++ {
		for _, sex := range []byte{'M', 'F'} {
			number := ValidResidentIDForTest("310115", birth, sequence, sex)
			if seen[number] {
				t.Fatalf("sequence %d sex %c repeats number %s", sequence, sex, number)
			}
			seen[number] = true

			doc, err := Parse(ResidentID, number, "", testToday)
			if err != nil {
				t.Fatalf("Parse(%q) returned error %v", number, err)
			}
			if doc.Sex != sex {
				t.Errorf("Parse(%q).Sex = %c, want %c", number, doc.Sex, sex)
			}
			if !doc.BirthDate.Equal(birth) {
				t.Errorf("Parse(%q).BirthDate = %s, want %s", number, doc.BirthDate, birth)
			}
		}
	}
}

func TestValidResidentIDForTestAllocatesOnlyResult(t *testing.T) {
	birth := date(2021, 9, 1)
	allocations := testing.AllocsPerRun(100, func() {
		ValidResidentIDForTest("310104", birth, 7, 'F')
	})
	if allocations > 1 {
		t.Errorf("ValidResidentIDForTest made %v allocations, want at most 1", allocations)
	}
}

func BenchmarkParseResidentID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ResidentID, "310104201903151235", "", testToday); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResidentIDFullWidth(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ResidentID, "３１０１０４ ２０１９０３１５ １２３５", "", testToday); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidResidentIDForTest(b *testing.B) {
	b.ReportAllocs()
	birth := date(2021, 9, 1)
	sequence := 0
	for b.Loop() {
		ValidResidentIDForTest("310104", birth, sequence, 'M')
		sequence++
	}
}
